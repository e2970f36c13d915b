# Debian's package lists, once for every part that installs from them, and Chromium (Debian's
# package, /usr/bin/chromium): the HTML explanations, reports and pages are rendered in it.
if command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq || echo "warning: apt-get update failed"
  if ! command -v chromium >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium \
      || echo "warning: chromium could not be installed; the browser tests will skip"
  fi
fi

#!/usr/bin/env bash
# Builds the seed corpora from the project's own policies, broken policies and example cases.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus/compile_text corpus/compile_item corpus/read_case
for file in ../policies/kz/*.ereje ../tests/diagnostics/*.ereje; do
  cp "$file" "corpus/compile_text/$(basename "$file")"
done
# Single items of the kz files: the text after each item keyword at a line start.
for file in ../policies/kz/*.ereje; do
  awk -v base="corpus/compile_item/$(basename "$file" .ereje)" '
    /^(def|rule|parameter|record|enum|table|bands|calendar|group|extend|output|exception) / { n++ }
    n > 0 { print > (base "-" n ".ereje") }' "$file"
done
shared=../../shared/contract/examples
n=0
while IFS= read -r line; do
  n=$((n + 1))
  printf '%s' "$line" > "corpus/read_case/example-$n.json"
done < "$shared/cases.jsonl"
for file in ../policies/kz/examples/*.json; do
  cp "$file" "corpus/read_case/$(basename "$file")"
done
echo "seeded: $(ls corpus/compile_text | wc -l) texts, $(ls corpus/compile_item | wc -l) items, $(ls corpus/read_case | wc -l) cases"

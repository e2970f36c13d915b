"""Notebook-style example: a population, the 2025.2 draft, the change in payments by category.

    python bindings/python/examples/draft_by_category.py --policy-dir policies/kz --out draft.png

Each ``# %%`` cell runs as a notebook cell in VS Code or Jupyter (jupytext).
"""

# %% Load the policy in force and the ministry's draft of September 2025.
import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import ereje  # noqa: E402
from ereje.frames import cases_to_frame  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--policy-dir", default="policies/kz")
parser.add_argument("--cases", type=int, default=10_000)
parser.add_argument("--out", default="draft_by_category.png")
arguments = parser.parse_args()

current = ereje.Policy.load(arguments.policy_dir, version="2025.1")
draft = current.with_version("2025.2-draft")

# %% A population: generated families (a real one would be read with pandas.read_csv).
population = cases_to_frame(ereje._native.generate(arguments.cases, 7).splitlines())

# %% Decide every family under both versions.
before = current.evaluate_frame(population)
after = draft.evaluate_frame(population)
payments = before[["case_id", "welfare.category"]].copy()
payments["before"] = before["asp.monthly_total"].fillna(0).astype(float)
payments["after"] = after["asp.monthly_total"].fillna(0).astype(float)
payments["change"] = payments["after"] - payments["before"]

payments["grounds changed"] = before["asp.reasons"].fillna("") != after["asp.reasons"].fillna("")

# %% By welfare category: the change in monthly payments (millions of tenge) and the families
# whose refusal grounds change (the draft drops the purchase ground and adds DRAFT-CARS).
by_category = payments.groupby("welfare.category").agg(
    change=("change", "sum"), families=("case_id", "size"), grounds=("grounds changed", "sum"))
by_category["change"] = by_category["change"] / 1e6
print(by_category.to_string())
figure, (money, grounds) = plt.subplots(1, 2, figsize=(10, 4))
by_category["change"].plot.bar(ax=money, color=["#2a9d8f" if value >= 0 else "#e76f51" for value in by_category["change"]])
money.set_xlabel("welfare category")
money.set_ylabel("change in monthly ASP payments, million ₸")
money.set_title("Payments: draft minus 2025.1")
money.axhline(0, color="black", linewidth=0.8)
by_category["grounds"].plot.bar(ax=grounds, color="#264653")
grounds.set_xlabel("welfare category")
grounds.set_ylabel("families")
grounds.set_title("Families whose refusal grounds change")
figure.suptitle(f"The 2025.2 draft on {len(payments)} generated families")
figure.tight_layout()
figure.savefig(arguments.out, dpi=120)
print(f"wrote {arguments.out}")

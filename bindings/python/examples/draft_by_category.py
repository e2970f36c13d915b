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
parser.add_argument("--cases", type=int, default=20_000)
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

# %% The change in monthly payments by welfare category, in millions of tenge.
by_category = payments.groupby("welfare.category")["change"].sum() / 1e6
print(by_category.to_string())
figure, axes = plt.subplots(figsize=(7, 4))
by_category.plot.bar(ax=axes, color=["#2a9d8f" if value >= 0 else "#e76f51" for value in by_category])
axes.set_xlabel("welfare category")
axes.set_ylabel("change in monthly ASP payments, million ₸")
axes.set_title(f"2025.2 draft vs 2025.1 on {len(payments)} generated families")
axes.axhline(0, color="black", linewidth=0.8)
figure.tight_layout()
figure.savefig(arguments.out, dpi=120)
print(f"wrote {arguments.out}")

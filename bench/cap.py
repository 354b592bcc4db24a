"""How long it takes to find a product's worst loan for the legal cap: every start date of a
four-year calendar cycle at the smallest and the largest amount, through
lending.calculations.worst_start_cost, against pricing each of those 2 × 1,461 loans one by one
(loan_cost) — the floor a naive check would pay. Prints JSON: milliseconds per product check
with the start-date groups cold (first use of a term) and warm (what a product save, a line grant
or scoring's rate search pays after that), the naive figure, and their ratio.

    .venv/bin/python bench/cap.py [--repeat 20]

Pure calculations: no database is touched.
"""

import argparse
import datetime as dt
import json
import sys
import time
from decimal import Decimal
from pathlib import Path

from scratch_db import setup_django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="timed checks per product (warm)")
    args = parser.parse_args()
    setup_django(database_url=None)

    from lending import calculations as calc
    from lending.calculations import cost
    from lending.services.products import SEED_PRODUCTS

    products = [
        {
            "code": spec["code"],
            "method": spec["method"],
            "term": spec["term"],
            "daily_rate": Decimal(spec["daily_rate"]),
            "amounts": (spec.get("drawdown_min", spec["amount_min"]) * 100, spec["amount_max"] * 100),
        }
        for spec in SEED_PRODUCTS
    ]
    # The product that slipped through the old check: 3 months of equal installments, 0.0657 %/day.
    products.append(
        {
            "code": "greedy_3m",
            "method": "equal_installment",
            "term": 3,
            "daily_rate": Decimal("0.000657"),
            "amounts": (100_000, 100_000_000),
        }
    )
    from_on = dt.date(2026, 1, 1)
    results = []
    for product in products:
        loans = {k: product[k] for k in ("method", "term")}

        def check(rate, product=product, loans=loans):
            return max(
                (
                    calc.worst_start_cost(principal_fen=amount, daily_rate=rate, from_on=from_on, **loans)
                    for amount in product["amounts"]
                ),
                key=lambda loan: loan.cost.daily_irr,
            )

        cost._start_groups.cache_clear()
        started = time.perf_counter()
        worst = check(product["daily_rate"])
        cold_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        for k in range(args.repeat):
            # A different rate each time, as scoring's search for the highest rate under the cap does.
            check(product["daily_rate"] + Decimal(k + 1) / 100_000_000)
        warm_ms = (time.perf_counter() - started) * 1000 / args.repeat
        started = time.perf_counter()
        naive = max(
            calc.loan_cost(
                principal_fen=amount,
                daily_rate=product["daily_rate"],
                start_on=from_on + dt.timedelta(days=day),
                **loans,
            ).cost.daily_irr
            for amount in product["amounts"]
            for day in range(calc.CALENDAR_CYCLE_DAYS)
        )
        naive_ms = (time.perf_counter() - started) * 1000
        if naive != worst.cost.daily_irr:
            raise SystemExit(f"{product['code']}: worst {worst.cost.daily_irr} but pricing every day {naive}")
        results.append(
            {
                "product": product["code"],
                "worst_start_on": worst.start_on.isoformat(),
                "worst_amount_fen": worst.principal_fen,
                "worst_nominal_apr": str(worst.cost.nominal_apr),
                "cold_ms": round(cold_ms, 2),
                "warm_ms": round(warm_ms, 2),
                "every_start_date_ms": round(naive_ms, 1),
                "speedup_warm": round(naive_ms / warm_ms, 1),
            }
        )
    print(json.dumps({"start_dates": calc.CALENDAR_CYCLE_DAYS, "products": results}, indent=2))


if __name__ == "__main__":
    main()

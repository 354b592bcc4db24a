"""Every write in lending. Keyword-only functions named <entity>_<verb>, one transaction each."""

from lending.services.lines import (
    credit_line_change_terms,
    credit_line_close,
    credit_line_draw,
    credit_line_freeze,
    credit_line_open,
    credit_line_restore,
    credit_line_unfreeze,
)
from lending.services.loans import (
    Drawn,
    DrawRequest,
    Quote,
    loan_draw,
    loan_owed,
    loan_quote,
    loan_recover,
    loan_repay,
    loan_repayment_replay,
    loan_write_off,
    loans_draw,
)
from lending.services.products import product_annual_cost, product_save, products_create_seed

__all__ = [
    "DrawRequest",
    "Drawn",
    "Quote",
    "credit_line_change_terms",
    "credit_line_close",
    "credit_line_draw",
    "credit_line_freeze",
    "credit_line_open",
    "credit_line_restore",
    "credit_line_unfreeze",
    "loan_draw",
    "loan_owed",
    "loan_quote",
    "loan_recover",
    "loan_repay",
    "loan_repayment_replay",
    "loan_write_off",
    "loans_draw",
    "product_annual_cost",
    "product_save",
    "products_create_seed",
]

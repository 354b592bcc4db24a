"""The loan agreement as it was written before it was rendered in the borrower's language: both
languages in one text. A merchant may have accepted such a text (its SHA-256) on an application
an officer pays out later, so a drawdown still accepts it, word for word; no new agreement is
shown in this form. Its Chinese is part of what was hashed and cannot change: the translation
check allows this file by name."""

from common.money import fen_to_yuan, format_yuan
from lending import calculations as calc

# The labels the text carried then: the repayment methods' and the seed products' names.
METHOD_LABELS = {
    "bullet": "Bullet 一次性还本付息",
    "monthly_interest": "Monthly interest, principal at maturity 按月付息到期还本",
    "equal_principal": "Equal principal 等额本金",
    "equal_installment": "Equal installments 等额本息",
}
SEED_PRODUCT_NAMES = {
    ("order_loan", "Order loan"): "Order loan 订单贷款",
    ("credit_loan", "Credit loan"): "Credit loan 信用贷款",
    ("revolving", "Revolving credit line"): "Revolving credit line 循环贷",
    ("fixed_loan", "Fixed loan"): "Fixed loan 固定贷",
}


def bilingual_agreement_text(*, merchant, product, quote, penalty_rate) -> str:
    """The text a quote's figures gave before (see the module's note)."""
    schedule, fee = quote.schedule, quote.fee_fen
    total_interest = quote.total_interest_fen
    pledged = quote.pledged_orders
    name = SEED_PRODUCT_NAMES.get((product.code, product.name), product.name)
    lines = [
        "借款合同 Loan agreement",
        f"Borrower 借款人: {merchant.shop_name} ({merchant.partner.code}:{merchant.external_id})",
        f"Product 产品: {name}",
        f"Amount 借款金额: ¥{format_yuan(quote.amount_fen)}",
        f"Term 期限: {quote.term} {product.term_unit}, {quote.start_on} to {schedule[-1].due_on}",
        f"Rate 利率: {calc.describe_rate(quote.daily_rate)} (simple interest, daily rate × 365)",
        f"All-in annual cost 综合年化成本 (IRR): {quote.annual_cost.nominal_apr:.2%}",
        f"Upfront fee 手续费: ¥{format_yuan(fee)}",
        f"Total interest 利息合计: ¥{format_yuan(total_interest)}; "
        f"total cost 总成本: ¥{format_yuan(total_interest + fee)}",
        f"Repayment 还款方式: {METHOD_LABELS.get(product.repayment_method, product.repayment_method)}; "
        "automatic deduction from the borrower's wallet on each due date 到期自动从钱包扣款",
        f"Penalty 罚息: overdue principal at {calc.describe_rate(penalty_rate)} "
        f"after {product.grace_days} grace day(s)",
        *(
            [
                f"Pledged orders 质押订单 (shipped 已发货): {len(pledged)} orders worth "
                f"¥{format_yuan(sum(v for _, v in pledged))}, ids {', '.join(str(o) for o, _ in pledged)}; "
                "a pledged order's settlement repays this loan first, a refund makes its share due at once",
            ]
            if pledged
            else []
        ),
        "Schedule 还款计划:",
        *(
            f"  #{i.number} {i.due_on.isoformat()} principal ¥{fen_to_yuan(i.principal_fen)} "
            f"interest ¥{fen_to_yuan(i.interest_fen)} total ¥{fen_to_yuan(i.total_fen)}"
            for i in schedule
        ),
    ]
    return "\n".join(lines)

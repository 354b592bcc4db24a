"""The psychometric questionnaire every owner answers: ten statements rated from
1 (strongly disagree) to 5 (strongly agree). It measures conscientiousness and integrity, the
traits the 360° rating turns into a number beside the trading data."""

from collections.abc import Mapping
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override

VERSION = "v1"
ANSWER_MIN = 1
ANSWER_MAX = 5


@dataclass(frozen=True)
class Question:
    code: str
    # The statement as an English msgid: str(text) reads it in the active language.
    text: Promise
    # Agreeing with a reverse-scored statement is the less creditworthy answer.
    is_reverse_scored: bool

    @property
    def text_zh(self) -> str:
        with override("zh-hans"):
            return str(self.text)

    @property
    def text_en(self) -> str:
        with override("en"):
            return str(self.text)


QUESTIONS: tuple[Question, ...] = (
    Question("plan_ahead", _("I plan my shop's stock and cash three months ahead."), False),
    Question("ship_unchecked", _("To save time I often ship first and check the order afterwards."), True),
    Question("pay_on_time", _("I always pay bills and suppliers on time."), False),
    Question("overstate_goods", _("Overstating a product a little is fine if it sells more."), True),
    Question("complaints_same_day", _("I deal with a customer's complaint the same day."), False),
    Question("borrow_to_gamble", _("I would borrow to bet on an uncertain big opportunity."), True),
    Question(
        "separate_accounts", _("I keep personal spending and the shop's money in separate accounts."), False
    ),
    Question("call_lender", _("If I struggled to repay, I would contact the lender myself."), False),
    Question("rules_for_others", _("Rules are for others; breaking them now and then does no harm."), True),
    Question("know_profit", _("I know how much profit my shop makes each month."), False),
)
QUESTION_CODES: tuple[str, ...] = tuple(q.code for q in QUESTIONS)


def questionnaire_score(answers: Mapping[str, int]) -> int:
    """0 (least creditworthy answers) .. 100 (most), rounded half up. Every question must be
    answered with an integer 1..5; reverse-scored statements count as 6 minus the answer."""
    missing = [code for code in QUESTION_CODES if code not in answers]
    if missing:
        raise ValueError(f"unanswered questions: {', '.join(missing)}")
    total = 0
    for question in QUESTIONS:
        answer = answers[question.code]
        if isinstance(answer, bool) or not isinstance(answer, int):
            raise ValueError(f"{question.code}: answer must be an integer 1..5, not {answer!r}")
        if not ANSWER_MIN <= answer <= ANSWER_MAX:
            raise ValueError(f"{question.code}: answer {answer} is outside 1..5")
        total += (ANSWER_MIN + ANSWER_MAX - answer) if question.is_reverse_scored else answer
    count = len(QUESTIONS)
    # Integer arithmetic: (total - count) / (4 * count) of 100, rounded half up.
    numerator = 100 * (total - count * ANSWER_MIN)
    denominator = (ANSWER_MAX - ANSWER_MIN) * count
    return (2 * numerator + denominator) // (2 * denominator)

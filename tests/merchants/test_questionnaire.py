"""The owners' questionnaire: ten bilingual questions, some reverse-scored, scored 0-100."""

import pytest

from merchants.questionnaire import QUESTION_CODES, QUESTIONS, questionnaire_score


def test_questionnaire_has_ten_bilingual_questions_some_reverse_scored():
    assert len(QUESTIONS) == 10
    assert len(set(QUESTION_CODES)) == 10
    assert all(q.text_zh and q.text_en for q in QUESTIONS)
    assert any(q.is_reverse_scored for q in QUESTIONS) and not all(q.is_reverse_scored for q in QUESTIONS)


def test_questionnaire_score_worked_examples():
    best = {q.code: 1 if q.is_reverse_scored else 5 for q in QUESTIONS}
    worst = {q.code: 5 if q.is_reverse_scored else 1 for q in QUESTIONS}
    assert questionnaire_score(best) == 100
    assert questionnaire_score(worst) == 0
    assert questionnaire_score(dict.fromkeys(QUESTION_CODES, 3)) == 50
    # One step better on one question of ten: 1/40 of the range = 2.5, rounded half up to 53.
    one_up = dict.fromkeys(QUESTION_CODES, 3)
    one_up[next(q.code for q in QUESTIONS if not q.is_reverse_scored)] = 4
    assert questionnaire_score(one_up) == 53


def test_questionnaire_score_refuses_incomplete_or_out_of_range_answers():
    answers = dict.fromkeys(QUESTION_CODES, 3)
    with pytest.raises(ValueError, match="unanswered"):
        questionnaire_score({k: v for k, v in answers.items() if k != QUESTION_CODES[0]})
    with pytest.raises(ValueError, match="outside"):
        questionnaire_score({**answers, QUESTION_CODES[0]: 6})
    with pytest.raises(ValueError, match="integer"):
        questionnaire_score({**answers, QUESTION_CODES[0]: 2.5})

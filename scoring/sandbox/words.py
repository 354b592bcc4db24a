"""A sandbox run's policy as a reader sees it: labelled rows in the reader's language (yuan,
percentages, the daily rate with its yearly equivalent), the grade terms as a grid and the
assumptions, for the workbench's run page and the risk managers' run page."""

from django.template.loader import render_to_string

from scoring.policy_words import assumption_rows, grade_terms_headings, grade_terms_rows, policy_rows


def policy_context(policy) -> dict:
    policy = policy if isinstance(policy, dict) else {}
    return {
        "rows": policy_rows(policy),
        "grade_rows": grade_terms_rows(policy.get("grade_terms")) if policy.get("grade_terms") else [],
        "headings": grade_terms_headings(),
        "assumptions": assumption_rows(policy.get("assumptions")),
    }


def policy_table(policy) -> str:
    """The policy as HTML: its rows, its grade terms and its assumptions."""
    return render_to_string("risk/_sandbox_policy.html", policy_context(policy))

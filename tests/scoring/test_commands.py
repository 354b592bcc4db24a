"""The command line: train_model (platform or CSV) registers a model and prints a readable report
or JSON; score_file scores any CSV, unseen categories and empty cells included; score_all rescores,
ranks and issues offers; every bad input is a CommandError naming the problem; promotion is
audited and the database keeps exactly one champion."""

import csv
import datetime as dt
import io
import json
import random

import pandas as pd
import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from common.business_date import business_date_set, business_date_today
from common.errors import ApplicationError, ConflictError
from payments import services as payments
from scoring.models import (
    MerchantScore,
    ModelPromotion,
    Offer,
    RatingAdjustment,
    ScoringModel,
    ScoringPolicy,
    default_grade_terms,
)
from scoring.selectors import policy_get
from scoring.services import model_promote, model_train
from tests.scoring.factories import candidate_create, champion_create, products, rated_merchant

TODAY = dt.date(2026, 3, 1)


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def credit_csv(path, rows: int = 600, seed: int = 1) -> None:
    """Rows whose default depends on income and region, with empty cells and an id column."""
    rng = random.Random(seed)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["customer_id", "income", "region", "years", "bad"])
        for i in range(rows):
            income = rng.uniform(1_000, 20_000)
            region = rng.choice(["north", "south", "east"])
            risk = 0.35 - income / 80_000 + (0.15 if region == "north" else 0)
            bad = 1 if rng.random() < max(risk, 0.02) else 0
            years = "" if i % 7 == 0 else rng.randint(0, 30)
            writer.writerow([f"c{i:05d}", f"{income:.0f}", region, years, bad])


@pytest.fixture
def today(db):
    business_date_set(on=TODAY, allow_backwards=True)


# --- train_model --------------------------------------------------------------------------------


def test_train_model_on_a_csv_prints_the_report_and_registers_a_candidate(today, tmp_path):
    path = tmp_path / "credit.csv"
    credit_csv(path)

    out = run("train_model", "--csv", str(path), "--target", "bad", "--seed", "3")

    model = ScoringModel.objects.get()
    assert model.status == "candidate" and model.source == "credit.csv" and model.target == "bad"
    for words in ("AUC", "KS", "Gini", "BRIER", "Calibration", "Information value", "Points table"):
        assert words in out
    assert "No champion yet" in out
    assert "customer_id" in out  # named as not used (an identifier)
    assert model.report["metrics"]["auc"] > 0.6
    assert model.challenger is not None


def test_train_model_json_and_promote_makes_the_first_model_champion(today, tmp_path):
    path = tmp_path / "credit.csv"
    credit_csv(path)

    report = json.loads(run("train_model", "--csv", str(path), "--target", "bad", "--promote", "--json"))

    assert report["status"] == "champion"
    assert report["report"]["promotion"]["promoted"] is True
    assert ModelPromotion.objects.get().model.version == report["version"]


def test_a_second_model_is_compared_with_the_champion_on_the_same_rows(today, tmp_path):
    path = tmp_path / "credit.csv"
    credit_csv(path)
    run("train_model", "--csv", str(path), "--target", "bad", "--promote")
    out = run("train_model", "--csv", str(path), "--target", "bad", "--promote")

    second = ScoringModel.objects.order_by("-pk").first()
    assert "Against the champion on the same held-out rows" in out
    assert second.report["comparison"]["auc_gain"] == pytest.approx(0)
    assert second.status == "candidate"  # no better than the champion: not promoted
    assert ScoringModel.objects.filter(status="champion").count() == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--csv", "missing.csv", "--target", "bad"], "no such file"),
        (["--target", "bad"], "--target goes with --csv"),
        (["--csv", "{path}"], "--csv needs --target"),
        (["--csv", "{path}", "--target", "defaulted"], "target column 'defaulted' is not in"),
        (["--outcome-days", "0"], "at least 1"),
    ],
)
def test_train_model_bad_input_is_a_clear_command_error(today, tmp_path, args, message):
    path = tmp_path / "credit.csv"
    credit_csv(path, rows=50)
    with pytest.raises(CommandError, match=message):
        run("train_model", *[a.format(path=path) for a in args])
    assert not ScoringModel.objects.exists()


def test_train_model_on_an_unreadable_file_names_it(today, tmp_path):
    path = tmp_path / "binary.csv"
    path.write_bytes(b"\xff\xfe\x00\x01" * 200)
    with pytest.raises(CommandError, match=r"binary\.csv"):
        run("train_model", "--csv", str(path), "--target", "bad")


def test_train_model_with_a_target_of_one_class_says_so(today, tmp_path):
    path = tmp_path / "all_good.csv"
    pd.DataFrame({"x": range(100), "bad": [0] * 100}).to_csv(path, index=False)
    with pytest.raises(CommandError, match="bad"):
        run("train_model", "--csv", str(path), "--target", "bad")


def test_train_model_on_the_platform_without_matured_loans_says_what_to_do(today):
    with pytest.raises(CommandError, match="no loan has been disbursed at least 90 days"):
        run("train_model")


def test_train_model_on_the_platform_with_too_few_bad_loans_says_so(today, monkeypatch):
    # A platform frame as training_frame returns it, 200 loans of which 3 went bad.
    frame = pd.DataFrame(
        {
            "loan_id": range(200),
            "merchant_id": range(200),
            "product_code": "credit_loan",
            "disbursed_on": [TODAY - dt.timedelta(days=200 - i // 2) for i in range(200)],
            "target": [1 if i in (5, 80, 150) else 0 for i in range(200)],
            "gmv_90d_yuan": [float(i) for i in range(200)],
        }
    )
    monkeypatch.setattr("scoring.services.registry.training_frame", lambda **kwargs: frame)
    with pytest.raises(CommandError) as caught:
        run("train_model", "--promote")
    message = str(caught.value)
    assert "3 bad" in message and "200 matured loans" in message
    assert not ScoringModel.objects.exists()


# --- promotion ----------------------------------------------------------------------------------


def test_promotion_is_audited_and_retires_the_previous_champion(today):
    first = champion_create("m-1")
    second = candidate_create("m-2")

    model_promote(model=second, actor="risk", reason="better KS on last quarter")

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("retired", "champion")
    audit = ModelPromotion.objects.get()
    assert (audit.model, audit.previous, audit.actor, audit.reason) == (
        second,
        first,
        "risk",
        "better KS on last quarter",
    )


def test_promotion_needs_a_reason_and_a_champion_cannot_be_promoted_again(today):
    champion = champion_create("m-1")
    with pytest.raises(ApplicationError) as caught:
        model_promote(model=candidate_create("m-2"), actor="risk", reason="  ")
    assert caught.value.extra["fields"] == {"reason": ["required"]}
    with pytest.raises(ConflictError, match="already the champion"):
        model_promote(model=champion, actor="risk", reason="again")
    assert not ModelPromotion.objects.exists()


def test_the_database_refuses_a_second_champion(today):
    champion_create("m-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        champion_create("m-2")


def test_model_train_service_versions_models_by_day(today, tmp_path):
    path = tmp_path / "credit.csv"
    credit_csv(path)
    one = model_train(source=str(path), target="bad", actor="t", seed=0, as_of=business_date_today())
    two = model_train(source=str(path), target="bad", actor="t", seed=1, as_of=business_date_today())
    assert one.version.endswith("-01") and two.version.endswith("-02")
    assert one.version[:11] == two.version[:11]


# --- score_file ---------------------------------------------------------------------------------


def test_score_file_scores_unseen_categories_and_missing_values(today, tmp_path):
    train = tmp_path / "credit.csv"
    credit_csv(train)
    run("train_model", "--csv", str(train), "--target", "bad", "--promote")
    new = tmp_path / "new.csv"
    new.write_text(
        "customer_id,income,region,years\n"
        "n1,15000,south,10\n"
        "n2,,west,\n"  # an empty income, a region never seen, empty years
        "n3,not a number,,3\n"
        "n4,2000,north,1\n",
        encoding="utf-8",
    )
    out_path = tmp_path / "scored.csv"

    out = run("score_file", "--model", "champion", "--csv", str(new), "--out", str(out_path))

    assert "Scored 4 rows" in out
    scored = pd.read_csv(out_path, keep_default_na=False)
    assert list(scored["customer_id"]) == ["n1", "n2", "n3", "n4"]
    assert scored["probability"].between(0, 1).all()
    assert scored["points"].dtype.kind == "i"
    # A high income in the south scores better than a low one in the north.
    assert scored.loc[0, "points"] > scored.loc[3, "points"]
    assert scored.loc[1, "region"] == "west" and scored.loc[1, "income"] == ""
    assert scored.loc[3, "reason_1"] != ""


def test_score_file_chunks_give_the_same_scores_as_one_pass(today, tmp_path):
    from scoring.services import score_file

    train = tmp_path / "credit.csv"
    credit_csv(train)
    model = model_train(source=str(train), target="bad", actor="t", as_of=business_date_today())
    one, many = tmp_path / "one.csv", tmp_path / "many.csv"
    score_file(model=model, csv_in=train, csv_out=one)
    score_file(model=model, csv_in=train, csv_out=many, chunk_rows=7)
    assert one.read_text() == many.read_text()


@pytest.mark.parametrize(
    ("model", "csv_name", "message"),
    [
        ("m-nope", "new.csv", "unknown model 'm-nope'"),
        ("latest", "absent.csv", "no such file"),
    ],
)
def test_score_file_bad_input_is_a_clear_command_error(today, tmp_path, model, csv_name, message):
    champion_create("m-1")
    (tmp_path / "new.csv").write_text("gmv_90d_yuan\n1\n")
    with pytest.raises(CommandError, match=message):
        run(
            "score_file",
            "--model",
            model,
            "--csv",
            str(tmp_path / csv_name),
            "--out",
            str(tmp_path / "o.csv"),
        )


def test_score_file_without_any_model_says_so(today, tmp_path):
    (tmp_path / "new.csv").write_text("x\n1\n")
    with pytest.raises(CommandError, match="no champion"):
        run("score_file", "--csv", str(tmp_path / "new.csv"), "--out", str(tmp_path / "o.csv"))


def test_score_file_refuses_to_overwrite_its_own_columns(today, tmp_path):
    champion_create("m-1")
    (tmp_path / "new.csv").write_text("gmv_90d_yuan,points\n1,2\n")
    with pytest.raises(CommandError, match="points"):
        run("score_file", "--csv", str(tmp_path / "new.csv"), "--out", str(tmp_path / "o.csv"))


# --- score_all ----------------------------------------------------------------------------------


def test_score_all_rescores_ranks_and_issues_offers(today):
    pool = payments.funding_pool_create(code="main", name="Main")
    payments.funding_pool_add_capital(pool=pool, amount_fen=10**12, idempotency_key="capital")
    products()
    champion_create()
    for gmv in (80_000.0, 40_000.0, 20_000.0, 5_000.0):
        rated_merchant(gmv=gmv)

    out = run("score_all")

    assert "Scored 4 merchants" in out and "Offers issued:" in out
    assert MerchantScore.objects.filter(is_current=True, rank__isnull=False).count() == 4
    assert Offer.objects.exists()
    summary = json.loads(run("score_all", "--json", "--as-of", "2026-03-01"))
    assert summary["offers_issued"] == 0  # the same day again: nothing new


def test_score_all_bad_input_is_a_command_error_and_no_champion_rates_with_the_expert_scorecard(today):
    with pytest.raises(CommandError, match="not a date"):
        run("score_all", "--as-of", "yesterday")
    rated_merchant()
    assert json.loads(run("score_all", "--json"))["model"] == "expert-1"


# --- the workbench ------------------------------------------------------------------------------


@pytest.fixture
def risk_client(today):

    group = Group.objects.get_or_create(name="risk_manager")[0]
    group.permissions.add(*Permission.objects.filter(content_type__app_label="scoring"))
    user = User.objects.create_user(username="risk", password="pw", is_staff=True)
    user.groups.add(group)
    client = Client()
    client.force_login(user)
    return client


def test_the_workbench_shows_a_models_report_and_promotes_with_a_reason(risk_client, tmp_path):

    path = tmp_path / "credit.csv"
    credit_csv(path)
    run("train_model", "--csv", str(path), "--target", "bad")
    model = ScoringModel.objects.get()
    url = reverse("admin:scoring_scoringmodel_change", args=[model.pk])
    page = risk_client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Held-out metrics" in text and "Information value" in text and "Points table" in text
    chinese = risk_client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "留出样本指标" in chinese and "信息值" in chinese and "评分表" in chinese
    assert 'data-testid="chart-roc"' in text and 'data-testid="chart-ks"' in text

    changelist = reverse("admin:scoring_scoringmodel_changelist")
    form = {"action": "promote", "_selected_action": [model.pk], "reason": ""}
    risk_client.post(changelist, form)
    assert not ModelPromotion.objects.exists()

    form["reason"] = "first model of the book"
    response = risk_client.post(changelist, form, follow=True)
    assert response.status_code == 200
    audit = ModelPromotion.objects.get()
    assert (audit.model, audit.actor, audit.reason) == (model, "risk", "first model of the book")


def test_the_workbench_refuses_a_policy_whose_grades_do_not_rise(risk_client):

    policy_get()
    # The terms per grade are a grid of cells in percent (scoring/admin_policy.py): B's 1 % is
    # below A's 2 %.
    terms = {"A": ("2", "0.6", "0"), "B": ("1", "0.45", "0.005"), "C": ("10", "0.3", "0.01")}
    terms |= {"D": ("20", "0.15", "0.015"), "E": ("100", "0", "0.02")}
    cells = {
        f"grade_terms.{grade}.{key}": value
        for grade, values in terms.items()
        for key, value in zip(("max_pd", "line_multiple", "rate_markup"), values, strict=True)
    }
    response = risk_client.post(
        reverse("admin:scoring_scoringpolicy_change", args=[1]),
        {
            "acceptance_rate_target": "0.3",
            "cutoff_grade": "D",
            "capacity_share": "0.5",
            "offer_valid_days": "14",
            **cells,
        },
    )
    assert response.status_code == 200 and "grade_terms.B.max_pd" in response.content.decode()
    assert ScoringPolicy.objects.get().grade_terms == default_grade_terms()


def test_the_workbench_lists_scores_offers_adjustments_and_findings(risk_client):

    pool = payments.funding_pool_create(code="main", name="Main")
    payments.funding_pool_add_capital(pool=pool, amount_fen=10**12, idempotency_key="capital")
    products()
    champion_create()
    merchant = rated_merchant()
    run("score_all")
    score = MerchantScore.objects.get(merchant=merchant)
    for name in (
        "merchantscore",
        "offer",
        "ratingadjustment",
        "officerfinding",
        "scoringpolicy",
        "modelpromotion",
    ):
        assert risk_client.get(reverse(f"admin:scoring_{name}_changelist")).status_code == 200
    detail = risk_client.get(reverse("admin:scoring_merchantscore_change", args=[score.pk]))
    assert detail.status_code == 200 and "360° 评分构成" in detail.content.decode()  # Chinese first
    added = risk_client.post(
        reverse("admin:scoring_ratingadjustment_add"),
        {"dimension": "industry", "key": "服装", "factor": "1.25", "note": "test"},
    )
    assert added.status_code == 302

    assert RatingAdjustment.objects.get().updated_by == "risk"

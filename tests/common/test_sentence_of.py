"""`sentence_of`: a refusal as a portal page shows it, in the reader's language."""

from django.utils import translation

from common.errors import ApplicationError, ConflictError
from common.sentences import sentence_of


def test_a_reason_written_through_gettext_reads_in_each_language():
    for language, shown in (("zh-hans", "没有需要偿还的款项。"), ("en", "Nothing to repay.")):
        with translation.override(language):
            assert sentence_of(ConflictError(translation.gettext("nothing to repay"))) == shown


def test_an_english_message_the_catalogues_know_reads_chinese_for_a_chinese_reader():
    with translation.override("zh-hans"):
        expected = translation.gettext("insufficient funds")
        assert expected != "insufficient funds"
        assert sentence_of(ApplicationError("insufficient funds")) == f"{expected}。"


def test_an_english_message_nobody_translated_is_a_plain_request_to_try_again():
    with translation.override("zh-hans"):
        plain = translation.gettext("This could not be done. Please check what you entered and try again.")
        assert sentence_of(ApplicationError("the frobnicator refused")) == plain

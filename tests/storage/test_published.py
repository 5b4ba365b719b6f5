"""A story's title on the wall: the moderator's, else its first sentence in any script."""

from __future__ import annotations

from storage.published import TITLE_MAX, story_title


def test_a_moderators_title_wins() -> None:
    assert story_title("  Welcome to Osaka ", "I left Aleppo. Then Osaka.") == "Welcome to Osaka"
    assert story_title("   ", "I left Aleppo. Then Osaka.") == "I left Aleppo."


def test_the_first_sentence_in_latin_cjk_and_arabic_script() -> None:
    assert story_title(None, "I left Aleppo in 2015! Then I studied.") == "I left Aleppo in 2015!"
    assert story_title(None, "We paid 3.5 million. Then we left.") == "We paid 3.5 million."
    assert story_title(None, "私は2015年にアレッポを出ました。今は大阪にいます。") == (
        "私は2015年にアレッポを出ました。"
    )
    assert story_title(None, "هل تعرف كيف وصلت؟ غادرت حلب سنة ٢٠١٥.") == "هل تعرف كيف وصلت؟"
    assert story_title(None, "मैं २०१५ में आया। अब मैं पढ़ता हूँ।") == "मैं २०१५ में आया।"


def test_a_short_abbreviation_ends_no_sentence_and_a_line_does() -> None:
    assert story_title(None, "Dr. Haddad helped us cross. Then we rested.") == (
        "Dr. Haddad helped us cross."
    )
    assert story_title(None, "My journey\n\nIt began in 2015.") == "My journey"


def test_a_long_first_sentence_is_cut_at_a_word() -> None:
    words = "word " * 60
    title = story_title(None, words + "end.")
    assert len(title) <= TITLE_MAX and title.endswith("word…")
    cjk = story_title(None, "長" * 300)
    assert len(cjk) == TITLE_MAX and cjk.endswith("…")

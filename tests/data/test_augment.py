"""Style-varied copies of training texts."""

from tfgbv.data.augment import lower_nopunct, no_emoji, style_variants


def test_lower_nopunct_types_text_like_a_lowercase_unpunctuated_comment():
    assert lower_nopunct("Ту, БЕШАРМ!!! Ҳастӣ?") == "ту бешарм ҳастӣ"
    assert lower_nopunct("Звони: +992 93-555-12-34.") == "звони 992 93 555 12 34"
    assert lower_nopunct("@user — ты где?") == "@user ты где"


def test_no_emoji_removes_pictographs_and_joiners():
    assert no_emoji("красотка 😍😍 👩‍❤️‍👨 да") == "красотка да"
    assert no_emoji("без эмодзи") == "без эмодзи"


def test_style_variants_skip_unchanged_and_empty_results():
    assert style_variants("уже так", ["lower_nopunct", "no_emoji"]) == []
    assert style_variants("😡", ["no_emoji"]) == []
    assert style_variants("Ну и ну!", ["lower_nopunct"]) == [("lower_nopunct", "ну и ну")]

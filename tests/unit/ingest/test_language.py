"""Language detection: the right ISO 639-1 code, or None rather than a guess."""

from __future__ import annotations

import pytest

from services.common.settings.ingest import DEFAULT_LANGUAGES
from services.ingest.language import detect_language, detector

SAMPLES = [
    (
        "en",
        "The government announced new measures on Tuesday to support small businesses hit by rising costs.",
    ),
    ("de", "Die Regierung hat am Dienstag neue Maßnahmen zur Unterstützung kleiner Unternehmen angekündigt."),
    ("fr", "Le gouvernement a annoncé mardi de nouvelles mesures pour soutenir les petites entreprises."),
    ("es", "El gobierno anunció el martes nuevas medidas para apoyar a las pequeñas empresas afectadas."),
    (
        "it",
        "Il governo ha annunciato martedì nuove misure per sostenere le piccole imprese colpite dai costi.",
    ),
    ("pt", "O governo anunciou na terça-feira novas medidas para apoiar as pequenas empresas afetadas."),
    ("nl", "De regering heeft dinsdag nieuwe maatregelen aangekondigd om kleine bedrijven te steunen."),
    ("ru", "Правительство во вторник объявило о новых мерах поддержки малого бизнеса."),
    ("uk", "Уряд у вівторок оголосив про нові заходи підтримки малого бізнесу, який постраждав."),
    ("ja", "政府は火曜日、コスト上昇の影響を受けた中小企業を支援する新たな措置を発表した。"),
    ("zh", "政府周二宣布了支持受成本上升影响的小企业的新措施。"),
    ("ko", "정부는 화요일 비용 상승으로 타격을 입은 중소기업을 지원하기 위한 새로운 조치를 발표했다."),
    ("ar", "أعلنت الحكومة يوم الثلاثاء عن إجراءات جديدة لدعم الشركات الصغيرة المتضررة من ارتفاع التكاليف."),
    (
        "tr",
        "Hükümet salı günü artan maliyetlerden etkilenen küçük işletmeleri desteklemek için yeni önlemler açıkladı.",
    ),
    ("pl", "Rząd ogłosił we wtorek nowe środki wsparcia dla małych firm dotkniętych rosnącymi kosztami."),
]


@pytest.mark.parametrize(("code", "text"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_news_sentences_are_recognized(code: str, text: str) -> None:
    assert detect_language(text, DEFAULT_LANGUAGES) == code


@pytest.mark.parametrize("text", ["", "OK", "12345 67890 !!!", "https://example.com/a/b/c"])
def test_too_little_text_gives_no_language(text: str) -> None:
    assert detect_language(text, DEFAULT_LANGUAGES) is None


def test_only_the_configured_languages_are_chosen() -> None:
    assert detect_language(SAMPLES[1][1], ("en", "fr")) in ("en", "fr", None)


def test_unknown_codes_in_the_configuration_are_ignored() -> None:
    assert detector(("en", "xx", "fr")) is not None
    assert detector(("xx",)) is None
    assert detect_language(SAMPLES[0][1], ("xx",)) is None


def test_every_default_language_is_known_to_the_detector() -> None:
    from lingua import IsoCode639_1

    for code in DEFAULT_LANGUAGES:
        IsoCode639_1.from_str(code)  # raises on a code lingua does not know (e.g. 'no' instead of 'nb')

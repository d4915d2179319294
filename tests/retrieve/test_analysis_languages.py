"""Per-language analysis (ragd.retrieve.analysis): each language's Snowball stemmer and stop words, the bounded
query fallback, and English/French analysed exactly as before (what existing stores hold)."""

from __future__ import annotations

from ragd.retrieve.analysis import (
    MAX_QUERY_LANGUAGES,
    STOPWORDS,
    analyze_document,
    analyze_query,
    chunk_language,
    document_language,
    query_languages,
    stopwords,
)


def test_german_stemming_and_stop_words() -> None:
    assert analyze_document("Die Katzen schlafen im warmen Garten des Hauses.", "de") == [
        "katz", "schlaf", "warm", "gart", "haus",
    ]  # fmt: skip
    assert analyze_document("Wo schläft die Katze?", "german") == ["schlaft", "katz"]  # Snowball name works too
    assert {"die", "und", "der", "im"} <= stopwords("de")


def test_spanish_stemming_and_stop_words() -> None:
    text = "Las bibliotecas municipales abren sus puertas los domingos por la mañana."
    assert analyze_document(text, "es") == ["bibliotec", "municipal", "abren", "puert", "doming", "manan"]
    assert {"las", "los", "por", "sus"} <= stopwords("es")


def test_italian_stemming_and_stop_words() -> None:
    text = "Le gallerie della città ospitano mostre di pittori famosi."
    assert analyze_document(text, "it") == ["galler", "citt", "ospit", "mostr", "pittor", "famos"]
    assert {"della", "di", "le"} <= stopwords("it")


def test_stop_words_are_per_language() -> None:
    # "die" is a German article but an English verb; "con" a Spanish preposition but an English word
    assert "die" in stopwords("de") and "die" not in stopwords("en")
    assert analyze_document("Soldiers die", "en") == ["soldier", "die"]
    assert analyze_document("con leche", "es") == ["lech"]
    assert analyze_document("con artist", "en") == ["con", "artist"]


def test_snowball_lists_hold_function_words_only() -> None:
    # the stop-words package's Portuguese list holds verbs and nouns of technical text ("iniciar" start, "caminho"
    # path, "estado" state): with it a question about starting a service lost its verb
    for word in ("iniciar", "caminho", "estado", "fazer", "horas"):
        assert word not in stopwords("pt"), word
    assert {"de", "que", "nao", "uma", "para"} <= stopwords("pt")  # accent-folded like the index ("não")
    assert analyze_document("Iniciar o serviço pelo caminho indicado", "pt") == ["inic", "servic", "caminh", "indic"]
    assert {"de", "het", "een", "zijn"} <= stopwords("nl") and "af" not in stopwords("nl")
    assert {"och", "att"} <= stopwords("sv") and {"og", "ikke"} <= stopwords("no") and "og" in stopwords("da")
    assert {"и", "не"} <= stopwords("ru")


def test_languages_without_a_snowball_list_keep_the_stop_words_package() -> None:
    assert {"ja", "ei"} <= stopwords("fi")  # Finnish: no list in bm25s, the stop-words package's
    assert stopwords("xx") == frozenset()


def test_english_and_french_are_analysed_as_before() -> None:
    # the lists ragd always used (their union, for both): a store indexed before per-language analysis holds these
    legacy = STOPWORDS["english"] | STOPWORDS["french"]
    assert stopwords("en") == stopwords("fr") == stopwords("english") == legacy
    assert analyze_document("The pilots were flying the aircraft", "en") == ["pilot", "fli", "aircraft"]
    assert analyze_document("Les élèves étudiaient les équations", "fr") == ["elev", "etudi", "equat"]


def test_a_language_without_stemmer_is_only_folded() -> None:
    assert analyze_document("Ελληνικά κείμενα", "xx") == ["ελληνικα", "κειμενα"]


def test_query_is_analysed_in_its_detected_language() -> None:
    question = "Wo schläft die Katze?"
    assert query_languages(question) == ["de"]
    assert analyze_query(question) == analyze_document(question, "de")
    question = "¿Cuándo abre la biblioteca municipal?"
    assert analyze_query(question) == analyze_document(question, "es")


def test_unsure_query_falls_back_to_a_bounded_set() -> None:
    # too short to tell: English or French by stop words (as ragd did before), plus the detector's best guess
    assert query_languages("Qui est Balaq ?")[0] == "fr"
    assert query_languages("Is Egypt in Asia?")[0] == "en"
    for text in ("FFT", "Eiffel 1889", "x", "OK", "transistor amplifier gains", "Qui est Pie IV ?"):
        langs = query_languages(text)
        assert 1 <= len(langs) <= MAX_QUERY_LANGUAGES
        assert langs[0] in ("en", "fr")
    # each word contributes at most one stem per language
    assert len(analyze_query("Laufende Motoren", ["de", "en", "fr"])) <= 2 * 3
    assert query_languages("Wie funktioniert das?", limit=1) == ["de"]


def test_a_stop_word_of_any_query_language_is_dropped() -> None:
    # "est" is French for "is": analysed in French and Italian it must not come back as the Italian word "est"
    assert analyze_query("Qui est Balaq", ["fr", "it"]) == ["balaq"]
    assert analyze_query("Was Celsius born in Uppsala", ["en", "sv"]) == ["celsius", "born", "uppsala", "uppsal"]


def test_chunk_language_falls_back_to_the_document() -> None:
    assert chunk_language("Der Gemeinderat hat den Haushalt beschlossen.", "en") == "de"
    assert chunk_language("42 — 17", "fr") == "fr"
    assert document_language("") == "en"
    assert document_language("El ayuntamiento votó el presupuesto del municipio.") == "es"


def test_a_chunk_unlike_its_document_is_analysed_in_both_languages() -> None:
    # a half-translated page: the chunk reads as English, its document is Portuguese
    text = "The group file lists the groups. nome do grupo: o nome dos usuários"
    both = analyze_document(text, "en", also="pt")
    assert {"group", "file", "list", "nome", "usuario"} <= set(both)  # the English analysis's terms
    assert {"usuari", "grup"} <= set(both)  # Portuguese stems a Portuguese question matches
    assert both.count("group") == 2  # one term per word when both stems agree ("group" and "groups")
    assert "do" not in both and "the" not in both and "o" not in both  # a stop word of either is dropped
    assert analyze_document(text, "en", also="en") == analyze_document(text, "en")  # same language: as before
    assert analyze_document(text, "en", also="english") == analyze_document(text, "en")

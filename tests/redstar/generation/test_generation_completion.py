"""``Completion``: a str that carries its finish reason through pickling, JSON and stop cuts."""

import json
import pickle

from redstar.generation import Completion, finish_reason, is_truncated, truncate_at_stop


def test_completion_is_a_string_with_a_reason():
    c = Completion("x = 5", "length")
    assert c == "x = 5" and isinstance(c, str) and is_truncated(c) and finish_reason(c) == "length"
    back = pickle.loads(pickle.dumps(c))  # vLLM data-parallel workers send completions back pickled
    assert back == "x = 5" and back.finish_reason == "length"
    assert json.dumps([c]) == '["x = 5"]'
    assert finish_reason(c.strip()) is None and finish_reason("plain") is None and not is_truncated("plain")


def test_stop_cut_ends_on_a_stop_string_and_an_uncut_text_keeps_its_reason():
    cut = truncate_at_stop(Completion("answer 5 STOP more", "length"), ["STOP"])
    assert cut == "answer 5 " and finish_reason(cut) == "stop"
    kept = truncate_at_stop(Completion("answer 5", "length"), ["STOP"])
    assert finish_reason(kept) == "length"
    assert finish_reason(truncate_at_stop(Completion("a", "stop"), None)) == "stop"

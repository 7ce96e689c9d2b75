import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from PIL import Image

from redstar.generation import GenerationConfig, Request, make_backend
from redstar.generation.openai import OpenAIError
from redstar.records import RowError


class _Server:
    """A local OpenAI-style /v1/chat/completions endpoint that records bodies; ``script`` lists
        status codes to answer first; ``max_n`` caps the choices it returns (like servers ignoring n);
    ``reject`` names body fields it answers 400 to (as the OpenAI API does for top_k)."""

    def __init__(self, script=(), max_n=None, reject=()):
        self.bodies, self.script, self.max_n, self.headers = [], list(script), max_n, []
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.bodies.append(body)
                outer.headers.append(dict(self.headers))
                assert self.path == "/v1/chat/completions"
                bad = [k for k in reject if k in body]
                if bad:  # like the OpenAI API: an unknown argument is a client error
                    self.send_response(400)
                    self.end_headers()
                    self.wfile.write(json.dumps({"error": f"Unrecognized request argument: {bad[0]}"}).encode())
                    return
                if outer.script:
                    code = outer.script.pop(0)
                    self.send_response(code)
                    self.end_headers()
                    self.wfile.write(b'{"error": "busy"}')
                    return
                n = body["n"] if outer.max_n is None else min(body["n"], outer.max_n)
                user = body["messages"][-1]["content"]
                text = user if isinstance(user, str) else "|".join(p["type"] for p in user)
                # a server reports "length" when max_tokens cut the answer (here: under 10)
                choices = [
                    {
                        "index": i,
                        "message": {"role": "assistant", "content": f"{text} s{body['seed']}-{i} STOP x"},
                        "finish_reason": "length" if body["max_tokens"] < 10 else "stop",
                    }
                    for i in range(n)
                ]
                data = json.dumps({"choices": choices}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(data)

        self.httpd = HTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


@pytest.fixture
def server():
    made = []

    def make(**kw):
        made.append(_Server(**kw))
        return made[-1]

    yield make
    for s in made:
        s.close()


def _req(i, text):
    return Request(id=f"q{i}", messages=[{"role": "user", "content": text}])


def test_openai_order_body_and_stop(server):
    s = server()
    b = make_backend("openai", base_url=s.url, model="m1", api_key="k", workers=4, progress=False)
    outs = b.generate(
        [_req(i, f"Q{i}") for i in range(6)],
        GenerationConfig(n=2, temperature=0.5, max_new_tokens=77, seed=9, stop=["STOP"]),
    )
    assert outs[3] == ["Q3 s9-0 ", "Q3 s9-1 "]
    body = s.bodies[0]
    assert (body["model"], body["n"], body["max_tokens"], body["temperature"], body["stop"]) == (
        "m1",
        2,
        77,
        0.5,
        ["STOP"],
    )
    assert s.headers[0]["Authorization"] == "Bearer k"


def test_openai_retries_then_tops_up_missing_choices(server):
    s = server(script=[503, 429], max_n=1)
    b = make_backend("openai", base_url=s.url, model="m", workers=1, backoff=0.01, progress=False)
    outs = b.generate([_req(0, "Q")], GenerationConfig(n=3, temperature=1.0, seed=0))
    assert outs == [["Q s0-0 STOP x", "Q s1-0 STOP x", "Q s2-0 STOP x"]]
    assert [bd["n"] for bd in s.bodies] == [3, 3, 3, 2, 1]


def test_openai_client_error_is_not_retried(server):
    s = server(script=[400])
    b = make_backend("openai", base_url=s.url, model="m", backoff=0.01, progress=False)
    with pytest.raises(OpenAIError, match="answered 400"):
        b.generate([_req(0, "Q")], GenerationConfig())
    assert len(s.bodies) == 1


def test_openai_gives_up_after_retries(server):
    s = server(script=[500] * 10)
    b = make_backend("openai", base_url=s.url, model="m", retries=2, backoff=0.01, progress=False)
    with pytest.raises(OpenAIError, match="failed after 3 attempts"):
        b.generate([_req(0, "Q")], GenerationConfig())


def test_openai_images_as_data_urls(server, tmp_path):
    s = server()
    img = tmp_path / "f.png"
    Image.new("RGB", (8, 8)).save(img)
    b = make_backend("openai", base_url=s.url, model="m", progress=False)
    out = b.generate(
        [Request(id="g", messages=[{"role": "user", "content": "Find x"}], images=[str(img)])], GenerationConfig(n=2)
    )
    assert out == [["image_url|text s0-0 STOP x"] * 2]  # greedy: asked once, copied
    part = s.bodies[0]["messages"][0]["content"][0]
    assert part["image_url"]["url"].startswith("data:image/png;base64,")
    assert s.bodies[0]["n"] == 1


def test_replay(tmp_path):
    p = tmp_path / "responses.jsonl"
    p.write_text('{"id": "a", "responses": ["x \\\\boxed{1}", "y"]}\n{"id": 7, "responses": ["z"]}\n')
    b = make_backend("replay", path=str(p))
    assert b.generate([Request(id="7", messages=[]), Request(id="a", messages=[])], GenerationConfig(n=1)) == [
        ["z"],
        ["x \\boxed{1}"],
    ]
    assert b.generate([Request(id="a", messages=[])], GenerationConfig(n=2, stop=["{"])) == [["x \\boxed", "y"]]
    with pytest.raises(RowError, match="id '7' has 1 responses, 2 requested"):
        b.generate([Request(id="7", messages=[])], GenerationConfig(n=2))
    with pytest.raises(RowError, match="no responses for id 'zz'"):
        b.generate([Request(id="zz", messages=[])], GenerationConfig())


@pytest.mark.parametrize(
    "line, msg",
    [
        ('{"id": "a", "responses": "x"}', "must be a list of strings"),
        ('{"id": "a", "responses": []}', "is empty"),
        ('{"responses": ["x"]}', "has no 'id'"),
        ('{"id": "a", "responses": ["x"]}\n{"id": "a", "responses": ["y"]}', "appears twice"),
    ],
)
def test_replay_bad_files(tmp_path, line, msg):
    p = tmp_path / "r.jsonl"
    p.write_text('{"id": "ok", "responses": ["fine"]}\n\n' + line + "\n")  # the bad row is on line 3
    with pytest.raises(RowError, match=msg) as e:
        make_backend("replay", path=str(p))
    assert str(e.value).startswith(f"{p}:{4 if 'twice' in msg else 3}")


def test_replay_scores_column(tmp_path):
    from redstar.generation.replay import read_responses

    p = tmp_path / "r.jsonl"
    p.write_text('{"id": 1, "responses": ["a", "b"], "scores": [0.5, -1]}\n{"id": 2, "responses": ["c"]}\n')
    got = read_responses(p)
    assert got["1"]["scores"] == [0.5, -1.0] and got["2"]["scores"] is None
    p.write_text('{"id": 1, "responses": ["a", "b"], "scores": [0.5]}\n')
    with pytest.raises(RowError, match="list of 2 numbers"):
        read_responses(p)


def test_openai_finish_reasons(server):
    from redstar.generation import finish_reason

    s = server()
    b = make_backend("openai", base_url=s.url, model="m", progress=False)
    cut = b.generate([_req(0, "a")], GenerationConfig(n=2, temperature=0.5, max_new_tokens=5))[0]
    assert [finish_reason(t) for t in cut] == ["length", "length"]
    full = b.generate([_req(0, "a")], GenerationConfig(n=1, max_new_tokens=50))[0]
    assert finish_reason(full[0]) == "stop"
    # a stop string cut on our side ended the text on a stop string, whatever the server said
    stopped = b.generate([_req(0, "a")], GenerationConfig(n=1, max_new_tokens=5, stop=["STOP"]))[0]
    assert finish_reason(stopped[0]) == "stop" and not stopped[0].endswith("STOP x")


def test_replay_finish_reasons(tmp_path):
    from redstar.generation import finish_reason

    p = tmp_path / "r.jsonl"
    p.write_text(
        json.dumps({"id": "q0", "responses": ["a", "b (cut"], "finish_reasons": ["stop", "length"]})
        + "\n"
        + json.dumps({"id": "q1", "responses": ["c"]})
        + "\n"
    )
    b = make_backend("replay", path=p)
    outs = b.generate([_req(0, "x"), _req(1, "y")], GenerationConfig(n=1))
    assert finish_reason(outs[0][0]) == "stop" and finish_reason(outs[1][0]) is None
    two = b.generate([_req(0, "x")], GenerationConfig(n=2))[0]
    assert [finish_reason(t) for t in two] == ["stop", "length"] and two == ["a", "b (cut"]

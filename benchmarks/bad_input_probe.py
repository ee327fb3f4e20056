"""Issue 13's defects, probed from outside (the CLI and HTTP interfaces), against any source tree.

    python benchmarks/bad_input_probe.py src              # this checkout
    git worktree add /tmp/old 63a3e06 && python benchmarks/bad_input_probe.py /tmp/old/src

Each line is PASS or FAIL for one mistake a user or client makes; the interfaces are the same at both commits,
so the same probe shows the defect before and its fix after. Prints one line per check; exits 1 on a FAIL.
"""
import json, os, subprocess, sys, tempfile
from pathlib import Path

SRC = str(Path(sys.argv[1]).resolve())
PY = sys.executable
env = {**os.environ, "PYTHONPATH": SRC, "LCRNN_API_TOKEN": "t"}
work = Path(tempfile.mkdtemp(prefix="probe13-"))


def cli(*args, timeout=600):
    """Exit status and output of one ``lcrnn`` command (-1 when it was still running after ``timeout`` s)."""
    code = "import sys; from lcrnn.cli import app; sys.argv=['lcrnn', *sys.argv[1:]]; app()"
    try:
        r = subprocess.run([PY, "-c", code, *map(str, args)], env=env, capture_output=True, text=True, cwd=work,
                           timeout=timeout)
    except subprocess.TimeoutExpired as running:  # a server that started: it was not refused
        return -1, str(running.stdout or "")
    return r.returncode, r.stdout + r.stderr


FAILED = []


def check(name, ok):
    print(f"{'PASS' if ok else 'FAIL'}  {name}", flush=True)
    if not ok:
        FAILED.append(name)


survey, run = work / "sim", work / "run"
assert cli("simulate", "--out", survey, "--n-objects", "4000", "--seed", "1", "--no-progress")[0] == 0
rc, out = cli("train", "--data", survey, "--out", run, "--epochs", "1", "--hidden", "8", "--dense", "8",
              "--device", "cpu")
assert rc == 0, out
rc, out = cli("train", "--data", work / "nope", "--out", work / "o1")
check("train --data <missing dir>: exit 2, no traceback", rc == 2 and "Traceback" not in out)
rc, out = cli("train", "--data", survey, "--out", work / "o2", "--device", "cdua", "--epochs", "1")
check("train --device cdua: exit 2, no traceback, no output dir",
      rc == 2 and "Traceback" not in out and not (work / "o2").exists())
rc, out = cli("predict", "--model", run, "--data", survey, "--split", "tset", "--out", work / "p.csv")
check("predict --split tset: refused with exit 2", rc == 2)
rc, out = cli("reproduce", "--profile", "papr", "--out", work / "o3")
check("reproduce --profile papr: exit 2, no traceback", rc == 2 and "Traceback" not in out)
rc, out = cli("predict", "--model", work / "nope", "--data", survey, "--out", work / "p2.csv")
check("predict --model <wrong path>: exit 2, no traceback", rc == 2 and "Traceback" not in out)

rc, out = cli("serve", "--model", run, "--db", f"sqlite:///{work}/u.db", "--port", "8799", timeout=30)
check("serve a context model without --galaxies is refused: exit 2, no traceback",
      rc == 2 and "Traceback" not in out and "galaxies" in out)
app_env = f"""
import json
from fastapi.testclient import TestClient
from lcrnn.serve.app import ServeConfig, create_app
auth = {{"Authorization": "Bearer t"}}
kw = {{"allow_missing_catalogue": True}} if "allow_missing_catalogue" in ServeConfig.__dataclass_fields__ else {{}}
app = create_app(ServeConfig(model_dir={str(run)!r}, db_url="sqlite:///{work}/t.db",
                             galaxies_path={str(survey / 'galaxies.parquet')!r}, **kw))
out = {{}}
with TestClient(app, raise_server_exceptions=False) as c:
    c.post("/objects", json={{"object_id": "a", "ra": 150.0, "dec": 2.0}}, headers=auth)
    body = '[{{"object_id": "a", "mjd": NaN, "mag": 18.0, "mag_err": 0.1}}]'
    out["NaN in JSON"] = c.post("/observations", content=body, headers={{**auth, "Content-Type": "application/json"}}).status_code
    for name, mjd in (("mjd 1e300", 1e300), ("mjd a JD", 2460000.5)):
        out[name] = c.post("/observations", json=[{{"object_id": "a", "mjd": mjd, "mag": 18.0, "mag_err": 0.1}}], headers=auth).status_code
    out["ra true"] = c.post("/objects", json={{"object_id": "b", "ra": True, "dec": 2.0}}, headers=auth).status_code
    out["band g to an L model"] = c.post("/observations", json=[{{"object_id": "a", "mjd": 59000.0, "mag": 18.0, "mag_err": 0.1, "band": "g"}}], headers=auth).status_code
    c.post("/observations", json=[{{"object_id": "a", "mjd": 59001.0, "mag": 18.0, "mag_err": 0.1}}], headers=auth)
    out["DELETE an observation"] = c.delete("/objects/a/observations/59001.0", headers=auth).status_code
print(json.dumps(out))
"""
r = subprocess.run([PY, "-c", app_env], env=env, capture_output=True, text=True, cwd=work)
res = json.loads(r.stdout.strip().splitlines()[-1]) if r.stdout.strip() else {}
if not res:
    print(r.stderr[-800:])
for name in ("NaN in JSON", "mjd 1e300", "mjd a JD", "ra true", "band g to an L model"):
    check(f"POST {name}: 422 (got {res.get(name)})", res.get(name) == 422)
check(f"DELETE an observation: 200 (got {res.get('DELETE an observation')})", res.get("DELETE an observation") == 200)
sys.exit(1 if FAILED else 0)

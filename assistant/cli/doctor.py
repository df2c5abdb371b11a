"""`earshot doctor`: what this machine has, what Earshot will use, and what to fix."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess

from ..config import EarshotConfig


def _check(name: str, ok: bool, detail: str, fix: str = "") -> dict:
    return {"name": name, "ok": ok, "detail": detail, "fix": fix}


def run_checks(config: EarshotConfig, network: bool = True) -> dict:
    from ..runtime.models import ModelStore
    from .network_check import watch

    early = watch() if network else None  # from here on, every socket call of this process is seen
    checks = []
    store = ModelStore(config.paths)
    for name, entry in store.manifest.items():
        statuses = store.status([name])
        ok = all(s.state == "ok" for s in statuses)
        bad = next((s for s in statuses if s.state != "ok"), None)
        if not entry.default and not ok:
            checks.append(
                _check(
                    f"model {name}",
                    True,
                    "optional, not installed",
                    "earshot models install --asr base" if name == "whisper-base" else "",
                )
            )
            continue
        checks.append(
            _check(
                f"model {name}",
                ok,
                "installed" if ok else f"{bad.path} is {bad.state}",
                "" if ok else "earshot models install",
            )
        )

    try:
        import llama_cpp

        info = llama_cpp.llama_print_system_info().decode(errors="replace").strip()
        gpu = bool(getattr(llama_cpp, "llama_supports_gpu_offload", lambda: False)())
        checks.append(
            _check(
                "llama.cpp",
                True,
                f"llama-cpp-python {llama_cpp.__version__}; "
                f"GPU offload {'yes' if gpu else 'no (CPU build)'}; {info[:160]}",
            )
        )
    except Exception as exc:
        checks.append(_check("llama.cpp", False, f"not importable: {exc}", "./install.sh"))

    try:
        import onnxruntime as ort

        providers = ort.get_available_providers()
        checks.append(_check("onnxruntime", True, f"{ort.__version__}; providers: {', '.join(providers)}"))
    except Exception as exc:
        checks.append(_check("onnxruntime", False, f"not importable: {exc}", "./install.sh"))
    checks.extend(_accelerator_checks(config))

    try:
        import ctranslate2

        cuda = ctranslate2.get_cuda_device_count()
        checks.append(_check("faster-whisper", True, f"ctranslate2 {ctranslate2.__version__}; CUDA devices: {cuda}"))
    except Exception as exc:
        checks.append(_check("faster-whisper", False, f"not importable: {exc}", "./install.sh"))

    from ..audio.io import list_devices

    devices = list_devices()
    inputs = [d["name"] for d in devices if d.get("max_input_channels", 0) > 0]
    outputs = [d["name"] for d in devices if d.get("max_output_channels", 0) > 0]
    checks.append(
        _check(
            "audio output",
            bool(outputs),
            ", ".join(outputs[:6]) or "none found",
            "" if outputs else "connect a speaker or start PulseAudio; replies are still printed",
        )
    )
    checks.append(
        _check(
            "audio input",
            bool(inputs),
            ", ".join(inputs[:6]) or "none found",
            "" if inputs else "connect a microphone; typed requests still work",
        )
    )

    gpu_name = ""
    if shutil.which("nvidia-smi"):
        try:
            gpu_name = subprocess.run(
                ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True, timeout=5
            ).stdout.strip()
        except Exception:
            gpu_name = ""
    checks.append(_check("GPU", True, gpu_name or "none (CPU only: everything works, slower)"))

    for tool, why in (("espeak-ng", "multilingual speech for tests and singing"), ("fluidsynth", "rendering MIDI")):
        checks.append(
            _check(
                tool,
                shutil.which(tool) is not None,
                why if shutil.which(tool) else "not found",
                "" if shutil.which(tool) else "./install.sh installs it",
            )
        )

    telemetry = os.environ.get("ORT_DISABLE_TELEMETRY") == "1"
    checks.append(_check("offline", telemetry, "ONNX Runtime telemetry disabled; no code path downloads at run time"))
    partials = store.partials()
    if partials:
        checks.append(
            _check(
                "model installs",
                False,
                f"{len(partials)} unfinished install file(s) left by an install that was cut off "
                f"({sum(p.stat().st_size for p in partials) / 1e6:.0f} MB), e.g. {partials[0]}",
                "earshot models install (it removes them and verifies every file)",
            )
        )
    checks.extend(_store_checks(config))
    network_result = None
    if network:
        from .network_check import doctor_check

        line = doctor_check(early, config)
        network_result = line.pop("network")
        checks.append(line)
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "home": str(config.paths.home_dir),
        "models_dir": str(store.root),
        "checks": checks,
        "network": network_result,
    }


ARTIFACTS_HASHED = 50  # the newest artifacts are re-hashed and decoded; older ones are checked to exist


def _store_checks(config: EarshotConfig) -> list[dict]:
    """The state the sessions are in (after a crash, say): health.py's checks, as doctor lines."""
    from ..health import check_store

    r = check_store(config.paths.database_path, hash_limit=ARTIFACTS_HASHED)
    out = [
        _check(
            "session database",
            r.integrity == "ok",
            f"integrity {r.integrity}; {r.sessions} sessions, {r.turns} turns"
            + (f" ({r.turns_cut_off} cut off by a crash or kill, or running now)" if r.turns_cut_off else ""),
            "" if r.integrity == "ok" else "copy earshot.db aside and run `sqlite3 earshot.db .recover`",
        ),
        _check(
            "projects",
            not r.project_problems,
            "; ".join(r.project_problems[:3])
            or f"{r.projects} project(s), each equal to what its change log replays to",
            "" if not r.project_problems else "report this: the change log is intact; the project is rebuilt from it",
        ),
        _check(
            "artifacts",
            not r.artifact_problems,
            "; ".join(r.artifact_problems[:3])
            or f"{r.artifacts} registered, all present; the newest {r.artifacts_checked} match their sha256 and decode",
            "" if not r.artifact_problems else "the file was changed or removed outside Earshot; its history is kept",
        ),
    ]
    if r.partials or r.debris:
        out.append(
            _check(
                "workspace leftovers",
                True,
                f"{len(r.partials)} scratch file(s) of writes that were cut off (.partial-*, hidden; removed after an "
                "hour)"
                + (
                    f"; {len(r.debris)} unreadable file(s) no session registered, e.g. {r.debris[0]}"
                    if r.debris
                    else ""
                ),
            )
        )
    return out


def _accelerator_checks(config: EarshotConfig) -> list[dict]:
    """Which provider ONNX models run on (chosen, then proven by loading one), the exported models'
    sha256, and a CPU and a GPU build of onnxruntime installed side by side (they overwrite each other)."""
    from importlib import metadata

    from ..runtime import onnx

    out = []
    plan = onnx.describe_providers(config)
    if plan["ok"]:
        live = onnx.probe_provider(config)
        detail = plan["detail"] + ("; " + live["detail"] if live["ok"] else "")
        out.append(_check("ONNX providers", live["ok"], detail, live["fix"] or plan["fix"]))
    else:
        out.append(_check("ONNX providers", False, plan["detail"], plan.get("fix", "")))
    try:
        manifest = onnx.load_manifest(onnx.exports_dir(config))
        bad = []
        for name in manifest.get("models", {}):
            try:
                onnx.exported_model(name, config)
            except Exception as exc:
                bad.append(str(exc))
        names = ", ".join(manifest.get("models", {}))
        out.append(
            _check(
                "ONNX exports",
                not bad,
                f"sha256 verified: {names}" if not bad else "; ".join(bad),
                "" if not bad else onnx.EXPORT_HINT,
            )
        )
    except Exception as exc:
        out.append(_check("ONNX exports", False, str(exc), onnx.EXPORT_HINT))
    installed = set()
    for dist in ("onnxruntime", "onnxruntime-gpu"):
        try:
            metadata.version(dist)
            installed.add(dist)
        except metadata.PackageNotFoundError:
            pass
    if len(installed) == 2:
        out.append(
            _check(
                "onnxruntime builds",
                False,
                "both onnxruntime and onnxruntime-gpu are installed; they share one module and the last installed wins",
                "pip uninstall -y onnxruntime onnxruntime-gpu && pip install 'onnxruntime-gpu[cuda,cudnn]'",
            )
        )
    try:
        device, compute = onnx.ctranslate2_device(config.accelerator.whisper_device)
        out.append(_check("Whisper device", True, f"faster-whisper runs on {device} ({compute})"))
    except Exception as exc:
        out.append(_check("Whisper device", False, str(exc), getattr(exc, "hint", "")))
    return out


def print_report(report: dict) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"earshot doctor — Python {report['python']}, models in {report['models_dir']}")
    for col in ("check", "", "detail", "fix"):
        table.add_column(col, overflow="fold")
    for c in report["checks"]:
        # escape: details hold text like "earshot[gpu]" that rich would read as markup
        table.add_row(c["name"], "[green]ok[/]" if c["ok"] else "[red]✗[/]", escape(c["detail"]), escape(c["fix"]))
    Console().print(table)


def run(args) -> int:
    import json

    from ..config import load_config

    report = run_checks(load_config())
    if args.json:
        print(json.dumps(report, indent=1, default=str))
    else:
        print_report(report)
    return 0 if all(c["ok"] for c in report["checks"]) else 1

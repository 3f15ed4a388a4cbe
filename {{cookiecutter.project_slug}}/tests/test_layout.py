"""The package's shape: folders in reading order, imports only pointing down, one owner for every file name."""

from __future__ import annotations

import ast
import functools
import re
import sys
from pathlib import Path

import pytest

from conftest import PACKAGE, PROJECT_ROOT, SRC

PACKAGE_DIR = SRC / PACKAGE
# Reading order, bottom first: a module may import from its own layer and the layers below it.
LAYERS = {
    "errors": 0,
    "config": 0,
    "display": 0,
    "logs": 0,
    "format_registry": 0,
    "artifact_files": 0,
    "answers": 0,
    "metric_registry": 0,
    "tasks": 0,
    "data": 1,
    "model": 2,
    "evaluation": 3,
    "training": 4,
    "serving": 5,
    "aws": 6,
    "hub": 6,  # hub.py: push to the Hugging Face Hub, a publishing target beside aws/ (it reads results names)
    "cli": 7,
    "__main__": 8,
}
HANDLER_MODULE = f"{PACKAGE}.serving.handler"  # packed into the inference container as code/inference.py
# its siblings in code/ (micro-batches and int8's packed rows, which model/int8.py uses too; the artifact's file
# names; the request limits and text rules, which the server, the client and deploy read too; the tasks' answers):
# they import nothing of ours but the artifact's file names
HANDLER_SIBLINGS = {
    f"{PACKAGE}.model.batching",
    f"{PACKAGE}.model.ngram_scorer",
    f"{PACKAGE}.artifact_files",
    f"{PACKAGE}.serving.request_rules",
    f"{PACKAGE}.answers",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}


def imported_modules(name: str, path: Path, known: dict[str, Path], top_level_only: bool = False) -> set[str]:
    """Package modules that ``name`` imports, at top level or inside functions (only at top level: what importing
    it runs, with ``top_level_only``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body if top_level_only else ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if not base.startswith(PACKAGE):
                continue
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in known else base)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
    return {module for module in found if module in known and module != name}


def layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS.get(parts[1], 0) if len(parts) > 1 else 0


def test_no_import_circle_and_no_upward_import():
    known = modules()
    graph = {name: imported_modules(name, path, known) for name, path in known.items()}
    assert graph[HANDLER_MODULE] == HANDLER_SIBLINGS
    # the siblings import nothing of ours but the artifact's file names (each ships beside the handler in code/)
    assert all(graph[sibling] <= {f"{PACKAGE}.artifact_files"} for sibling in HANDLER_SIBLINGS)
    upward = [
        f"{name} imports {target}"
        for name, targets in graph.items()
        for target in targets
        if layer(target) > layer(name)
    ]
    assert upward == []
    visiting, done, cycles = set(), set(), []

    def visit(node, trail):
        if node in visiting:
            cycles.append(" -> ".join(trail[trail.index(node) :] + [node]))
            return
        if node in done:
            return
        visiting.add(node)
        for target in sorted(graph[node]):
            visit(target, trail + [node])
        visiting.discard(node)
        done.add(node)

    for node in sorted(graph):
        visit(node, [])
    assert cycles == []


# What the template's post-generation hook imports to write labels.json and the sample: it runs wherever cookiecutter
# runs (pipx, uvx: an environment with nothing but cookiecutter), so these and what they import at the top use the
# standard library only (a binary format's reader or writer imports its libraries when it runs).
HOOK_MODULES = (f"{PACKAGE}.artifact_files", f"{PACKAGE}.data.labels", f"{PACKAGE}.data.readers")


def test_what_the_template_hook_imports_needs_only_the_standard_library():
    known = modules()
    pending, seen, outside = list(HOOK_MODULES), set(), []
    while pending:
        name = pending.pop()
        chain = [".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 2)]  # packages run first
        for module in (m for m in chain if m not in seen):
            seen.add(module)
            tree = ast.parse(known[module].read_text(encoding="utf-8"))
            for node in tree.body:  # what runs at import: top-level imports (function bodies import lazily)
                if isinstance(node, ast.Import):
                    roots = [alias.name.split(".")[0] for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and not node.level:
                    roots = [(node.module or "").split(".")[0]]
                else:
                    continue
                outside += [f"{module} imports {root}" for root in roots if root not in sys.stdlib_module_names]
            pending += sorted(imported_modules(module, known[module], known, top_level_only=True) - seen)
    assert outside == []


def test_every_stage_folder_is_in_the_reading_order():
    folders = {p.name for p in PACKAGE_DIR.iterdir() if p.is_dir() and p.name != "__pycache__"}
    files = {p.stem for p in PACKAGE_DIR.glob("*.py") if p.stem != "__init__"}
    assert folders | files <= set(LAYERS)


@functools.cache
def string_literals(path: Path) -> tuple[str, ...]:
    """Every string constant of a module except docstrings (f-string parts included); read once per test run
    (the parametrized name checks walk every module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return tuple(
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    )


NAMES = [
    "config.yaml",
    "labels.json",
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "metrics.json",
    "training_config.json",
    "history.json",
    "README.md",
    "report.txt",
    "confusion_matrix.png",
    "learning_curves.png",
    "errors.tsv",
    "checkpoint-",
    "trainer_state.json",
    "torch-loop-last.pt",
    "scratch-tokenizer",
    "/opt/ml",
    "inference.py",
    "train_entry.py",
    "mlflow.db",
    "mlruns",
    "tokenized",
    ".deployments",
    "sagemaker-source",
    "SHA256SUMS",
    "ngram-baseline.npz",
]


@pytest.mark.parametrize("name", NAMES)
def test_each_file_and_folder_name_is_written_once(name):
    whole_name = re.compile(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])")
    places = [
        f"{path.relative_to(PACKAGE_DIR)}: {literal!r}"
        for path in sorted(PACKAGE_DIR.rglob("*.py"))
        for literal in string_literals(path)
        if whole_name.search(literal)
    ]
    assert len(places) == 1, places


def test_metric_names_are_written_in_the_registry_only():
    """A metric's name (or its eval_/validation_/test_ form) as a whole string appears in metric_registry.py alone:
    everything else derives from METRICS."""
    from {{ cookiecutter.package_name }}.metric_registry import METRICS

    spelled = {f"{prefix}{name}" for name in METRICS for prefix in ("", "eval_", "validation_", "test_")}
    places = [
        f"{path.relative_to(PACKAGE_DIR)}: {literal!r}"
        for path in sorted(PACKAGE_DIR.rglob("*.py"))
        if path.relative_to(PACKAGE_DIR).as_posix() != "metric_registry.py"
        for literal in string_literals(path)
        if literal in spelled
    ]
    assert places == []


MAX_FUNCTION_LINES = 60


def functions(tree: ast.AST):
    return [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


def test_no_function_runs_past_60_lines():
    """A function that does one job fits a screen; a longer one is a recipe to cut into named steps."""
    long = {
        f"{path.relative_to(PACKAGE_DIR).as_posix()} {node.name}": node.end_lineno - node.lineno + 1
        for path in sorted(PACKAGE_DIR.rglob("*.py"))
        for node in functions(ast.parse(path.read_text(encoding="utf-8")))
        if node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    }
    assert long == {}, long


def public_definitions(body: list[ast.stmt], prefix: str = ""):
    """(qualified name, node) of every public function and class in ``body``, and of the public methods of its
    public classes (a name without a leading underscore; dunder methods are Python's, not ours)."""
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
            yield f"{prefix}{node.name}", node
            if isinstance(node, ast.ClassDef):
                yield from public_definitions(node.body, f"{prefix}{node.name}.")


def test_every_public_function_and_class_has_a_docstring():
    defined = [
        (f"{path.relative_to(PACKAGE_DIR).as_posix()}: {name}", node)
        for path in sorted(PACKAGE_DIR.rglob("*.py"))
        for name, node in public_definitions(ast.parse(path.read_text(encoding="utf-8")).body)
    ]
    assert len(defined) > 300  # the walk found the package
    assert [name for name, node in defined if not ast.get_docstring(node)] == []


def test_the_readme_table_and_the_marked_extension_points_agree():
    """README's "Where to change what" names each file that carries a fenced ``# --- extend this`` or
    ``# --- replace this`` comment, and each such file carries one."""
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    if "## Where to change what" not in readme:  # the README is yours to rewrite; the template's CI checks its own
        pytest.skip("README.md has no 'Where to change what' section any more")
    table = readme.split("## Where to change what", 1)[1].split("\n## ", 1)[0]
    named = {name.removeprefix(f"src/{PACKAGE}/") for name in re.findall(r"`([\w/]+\.py)`", table)}
    marked = {
        path.relative_to(PACKAGE_DIR).as_posix()
        for path in PACKAGE_DIR.rglob("*.py")
        if re.search(r"# --- (extend|replace) this", path.read_text(encoding="utf-8"))
    }
    assert {"metric_registry.py", "format_registry.py", "config.py", "model/sources.py", "tasks/__init__.py"} <= marked
    assert marked <= named, marked - named


def test_no_checkpoint_or_cache_is_unpickled_with_arbitrary_objects():
    """torch.load must always run with weights_only=True: checkpoint folders are synced from S3."""
    unsafe = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", "") == "load"
                and getattr(node.func.value, "id", "") == "torch"
            ):
                safe = any(k.arg == "weights_only" and getattr(k.value, "value", None) is True for k in node.keywords)
                if not safe:
                    unsafe.append(f"{path.relative_to(PACKAGE_DIR)}:{node.lineno}")
    assert unsafe == []

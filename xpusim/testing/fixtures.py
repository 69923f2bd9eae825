"""Pytest fixtures for plugin authors: an isolated plugin manager, a tiny trace and run, and a
recorder of hook calls (like pytester's ``HookRecorder``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest

from xpusim.core.plugins import Plugins, get_plugin_manager
from xpusim.core.trace import Trace

TINY_TRACE_ROWS = (
    # phase, layer, primitive, m, n, k, bits, fmt, count
    ("train-update", 0, "write", 1, 16, 64, 32, "fp32", 1),
    ("train-forward", 0, "mvm", 32, 16, 64, 32, "fp32", 1),
    ("train-forward", 0, "elementwise", 512, 2, 1, 32, "fp32", 1),
    ("train-backward", 0, "mvm_t", 32, 64, 16, 32, "fp32", 1),
    ("train-update", 0, "update", 32, 16, 64, 32, "fp32", 1),
    ("inference", 0, "mvm", 1, 16, 64, 32, "fp32", 100),
)


@pytest.fixture
def xpusim_plugins(request: pytest.FixtureRequest) -> tuple[Any, ...]:
    """Plugin modules under test (override this fixture, or set ini ``xpusim_plugins``)."""
    try:
        return tuple(request.config.getini("xpusim_plugins"))
    except ValueError:  # the ini option is not registered (plugin imported, not loaded)
        return ()


@pytest.fixture
def xpusim_pm(xpusim_plugins: tuple[Any, ...]) -> Iterator[Plugins]:
    """An isolated plugin manager: built-ins, entry points and ``xpusim_plugins``.

    Every plugin is unregistered in teardown, so no state leaks into other tests.
    """
    pm = get_plugin_manager(xpusim_plugins)
    yield pm
    for name, plugin in list(pm.pm.list_name_plugin()):
        pm.pm.unregister(plugin, name=name)


@pytest.fixture
def tiny_trace() -> Trace:
    """A six-row trace covering write, mvm, elementwise, mvm_t, update and inference."""
    t = Trace()
    for phase, layer, prim, m, n, k, bits, fmt, count in TINY_TRACE_ROWS:
        t.add(phase, layer, prim, m, n, k, bits, fmt, count=count)
    return t


@pytest.fixture
def tiny_run(xpusim_pm: Plugins) -> Callable[..., Any]:
    """``tiny_run(hardware, method="backprop", **config)``: a small digits run (RunResult)."""
    from xpusim.core.results import RunConfig
    from xpusim.core.scheduler import run

    def _run(hardware: str = "h100-sxm", method: str = "backprop", **config: Any) -> Any:
        settings = {"model": "mlp:64-32-10", "dataset": "digits", "epochs": 1,
                    "batch_size": 32, **config}
        return run(RunConfig(hardware=hardware, method=method, **settings), plugins=xpusim_pm)

    return _run


@attrs.define
class HookCall:
    """One call of one hook through pluggy, as ``add_hookcall_monitoring`` reports it."""

    hook: str
    plugins: tuple[str, ...]  # the implementations pluggy had, in call order
    kwargs: dict[str, Any]
    result: Any = None
    error: BaseException | None = None


class HookRecorder:
    """Records every hook call made through a manager (pytester's ``HookRecorder``).

    Built on pluggy's ``add_hookcall_monitoring``: nothing is patched, and calls made through
    the ``Plugins`` facade and directly through ``pm.hook`` are seen alike. ``plugins`` lists
    the implementations of each call in pluggy's order; a ``firstresult`` hook stops at the
    first that returns a result (its kernel set or cost model names it as ``provider``).
    """

    def __init__(self, plugins: Plugins):
        self.plugins = plugins
        self.calls: list[HookCall] = []
        self._open: list[HookCall] = []  # calls in progress (a hook may call another)
        self._undo = plugins.pm.add_hookcall_monitoring(self._before, self._after)

    def _before(self, hook_name: str, hook_impls: Any, kwargs: Any) -> None:
        call = HookCall(hook_name, tuple(i.plugin_name for i in reversed(hook_impls)),
                        dict(kwargs))
        self.calls.append(call)
        self._open.append(call)

    def _after(self, outcome: Any, hook_name: str, hook_impls: Any, kwargs: Any) -> None:
        call = self._open.pop()
        if outcome.exception is not None:
            call.error = outcome.exception
        else:
            call.result = outcome.get_result()

    def getcalls(self, hook: str, plugin: str | None = None) -> list[HookCall]:
        """Calls of ``hook`` (optionally only those ``plugin`` implements), in call order."""
        return [c for c in self.calls
                if c.hook == hook and (plugin is None or plugin in c.plugins)]

    def assert_called(self, hook: str, plugin: str | None = None) -> list[HookCall]:
        calls = self.getcalls(hook, plugin)
        assert calls, f"{hook} was not called" + (f" with plugin {plugin!r}" if plugin else "")
        return calls

    def finish_recording(self) -> None:
        self._undo()


@pytest.fixture
def hook_recorder(xpusim_pm: Plugins) -> Iterator[HookRecorder]:
    """A ``HookRecorder`` on ``xpusim_pm`` (undone in teardown)."""
    rec = HookRecorder(xpusim_pm)
    yield rec
    rec.finish_recording()

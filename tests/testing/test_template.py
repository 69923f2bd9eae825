"""``spec_template`` (``xpusim specs new BACKEND``): every key, unit, doc and default."""

from __future__ import annotations

import tomllib

import attrs
import pytest

from xpusim.core import BackendInfo, Device
from xpusim.core.errors import SpecError
from xpusim.core.plugins import get_plugin_manager
from xpusim.core.specs import option, quantity, read_toml, spec_from_dict
from xpusim.testing.template import param_rows, spec_template

PM = get_plugin_manager(autoload=False)
SHIPPED = {}
for _name, _path in sorted(PM.spec_files().items()):
    SHIPPED.setdefault(read_toml(_path).get("backend"), _path)
BACKENDS = sorted(b for b in PM.backends if b in SHIPPED)


def _get(raw, path):
    for part in path.split("."):
        raw = raw[part]
    return raw


def _set(raw, path, value):
    *parents, leaf = path.split(".")
    for part in parents:
        raw = raw.setdefault(part, {})
    raw[leaf] = value


@pytest.mark.parametrize("backend", BACKENDS)
def test_template_lists_every_key_with_unit_and_doc(backend):
    info = PM.backend(backend)
    text = spec_template(info)
    raw = tomllib.loads(text)
    assert raw["backend"] == backend
    for row in param_rows(info.params):
        key = row.path.rpartition(".")[2]
        if row.required:
            assert f"# {key} = ...  # REQUIRED" in text, row.path
        else:
            assert _get(raw, row.path) == row.default, row.path
        assert row.doc in text and (not row.unit or f"[{row.unit}]" in text), row.path


@pytest.mark.parametrize("backend", BACKENDS)
def test_unfilled_template_names_each_missing_key_and_filled_one_loads(backend):
    info = PM.backend(backend)
    raw = tomllib.loads(spec_template(info))
    required = [r.path for r in param_rows(info.params) if r.required]
    if required:
        with pytest.raises(SpecError) as err:
            spec_from_dict(raw, PM.params_class, where="new.toml")
        for path in required:
            assert f"new.toml: {path}: missing (required key)" in str(err.value)
    shipped = read_toml(SHIPPED[backend])
    for path in required:
        _set(raw, path, _get(shipped, path))
    spec = spec_from_dict(raw, PM.params_class, where="new.toml")
    assert spec.backend == backend


@attrs.frozen(kw_only=True)
class Adc:
    """The ADC."""

    bits: int = quantity(unit="bit", doc="resolution", default=8, gt=0)


@attrs.frozen(kw_only=True)
class ToyParams:
    """Toy."""

    adc: Adc
    mode: str = option(doc="a mode", default="fast")
    power_w: float = quantity(unit="W", doc="power", gt=0)


def test_template_of_toy_params_marks_required_and_units():
    text = spec_template(BackendInfo("toy", ToyParams, Device, {"mvm"}, doc="a toy"))
    assert "# [W] float -- power\n# power_w = ...  # REQUIRED" in text
    assert "# The ADC.\n[adc]\n# [bit] int -- resolution\nbits = 8" in text
    assert '# str -- a mode\nmode = "fast"' in text
    assert text.index("mode =") < text.index("[adc]")  # top-level keys before tables

"""Every config file composes, and its values convert into the typed arguments the library takes."""

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import OmegaConf

from tfgbv.cli.config import CONFIG_DIR
from tfgbv.cli.run import baseline_spec, data_sources, model_spec, train_spec

CONFIGS = Path(CONFIG_DIR)
PRIMARY = sorted(p.stem for p in CONFIGS.glob("*.yaml"))
GROUP_OPTIONS = sorted((p.parent.relative_to(CONFIGS).as_posix(), p.stem) for p in CONFIGS.glob("*/*.yaml"))


def _compose(primary: str, overrides: list[str]):
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        return compose(config_name=primary, overrides=overrides, return_hydra_config=True)


def _check_typed(cfg) -> None:
    if "data" in cfg:
        assert data_sources(cfg.data)
    if "trainer" in cfg:
        train_spec(cfg.trainer)
    if "model" in cfg:
        if cfg.model.get("kind", "transformer") == "tfidf_lr":
            baseline_spec(cfg.model)
        else:
            model_spec(cfg.model)


@pytest.mark.parametrize("primary", PRIMARY)
def test_primary_config_composes_with_defaults(primary):
    cfg = _compose(primary, [])
    OmegaConf.to_container(cfg, resolve=False)
    _check_typed(cfg)


@pytest.mark.parametrize("group,option", GROUP_OPTIONS, ids=[f"{g}={o}" for g, o in GROUP_OPTIONS])
def test_every_group_option_composes(group, option):
    if group == "hydra":
        override = f"hydra={option}"
    else:
        override = f"{group}={option}"
    errors = []
    for primary in PRIMARY:
        try:
            cfg = _compose(primary, [override])
        except HydraException as err:  # this primary does not use the group
            errors.append(f"{primary}: {err}")
            continue
        _check_typed(cfg)
        return
    pytest.fail(f"{group}={option} composes with no primary config:\n" + "\n".join(errors))


def test_train_defaults_are_the_documented_ones():
    cfg = _compose("train", [])
    assert cfg.model.short_name == "e5-small" and cfg.data.name == "default_mix" and cfg.trainer.num_train_epochs == 1


def test_sweep_overrides_parse():
    cfg = _compose("train", ["model=tiny", "seed=3", "trainer.learning_rate=1e-4", "debug=fast"])
    assert cfg.seed == 3 and cfg.trainer.max_steps == 4 and train_spec(cfg.trainer).learning_rate == 1e-4


def test_public_mix_merges_sources_and_keeps_missing_labels():
    cfg = _compose("train", ["experiment=public_ru_mix"])
    names = [s.name for s in data_sources(cfg.data)]
    assert names == ["seed", "ru_2ch_pikabu", "ru_sexism_vk"]
    specs = {s.name: s for s in data_sources(cfg.data)}
    assert specs["ru_2ch_pikabu"].annotated_labels == ["insult"]
    assert specs["ru_sexism_vk"].annotated_labels == ["shaming"]


def test_persian_view_mix_keeps_the_functional_suite_of_the_default_mix():
    default, persian = _compose("train", []), _compose("train", ["experiment=persian_view"])
    assert persian.data.functional == default.data.functional and persian.data.functional
    names = [s.name for s in data_sources(persian.data)]
    assert {"fa_pars_off", "fa_phate", "seed", "ru_2ch_pikabu"} <= set(names)


def test_persian_view_on_own_data_differs_from_the_persian_view_mix_only_by_the_persian_sources():
    from tfgbv.cli.run import model_spec

    mix, own = _compose("train", ["experiment=persian_view"]), _compose("train", ["experiment=persian_view_own_data"])
    mix_specs, own_specs = ({s.name: s for s in data_sources(c.data)} for c in (mix, own))
    assert set(mix_specs) - set(own_specs) == {"fa_pars_off", "fa_phate"} and set(own_specs) < set(mix_specs)
    assert all(own_specs[n] == mix_specs[n] for n in own_specs)  # same rows, same augmentation
    assert model_spec(own.model).text.persian_view and own.model == mix.model
    assert own.data.functional == mix.data.functional and own.data.name != mix.data.name


def test_persian_data_without_the_view_differs_from_the_persian_view_mix_only_by_the_model():
    from tfgbv.cli.run import model_spec

    default, mix = _compose("train", []), _compose("train", ["experiment=persian_view"])
    rows = _compose("train", ["experiment=persian_data"])
    mix_specs, rows_specs = ({s.name: s for s in data_sources(c.data)} for c in (mix, rows))
    assert rows_specs == mix_specs  # the same sources, caps and augmentation
    assert rows.model == default.model and not model_spec(rows.model).text.persian_view
    assert rows.data.functional == default.data.functional and rows.data.name not in (mix.data.name, default.data.name)


def test_keyboard_experiments_add_keyboard_copies_of_tajik_rows_and_restoration_on_top():
    from tfgbv.cli.run import model_spec

    default = _compose("train", [])
    typed = _compose("train", ["experiment=keyboard_typed"])
    restored = _compose("train", ["experiment=keyboard_restore"])
    for cfg in (typed, restored):
        specs = {s.name: s for s in data_sources(cfg.data)}
        assert "keyboard" in specs["seed"].augment and "keyboard" in specs["tg_parstext"].augment
        assert "keyboard" in specs["tg_addresses"].augment and not specs["ru_2ch_pikabu"].augment
        assert specs["seed"].train_repeat == 2  # the default mix's other choices are kept
        assert cfg.data.functional == default.data.functional
    assert not model_spec(typed.model).text.keyboard_restore and model_spec(restored.model).text.keyboard_restore
    assert restored.data.name != typed.data.name != default.data.name  # the run names tell them apart


SPEC_FILES = [
    ("trainer/default.yaml", "TrainSpec"),
    ("evaluation/default.yaml", "EvalSpec"),
    ("predict.yaml", "ScoreSpec"),
    ("bench.yaml", "BenchSpec"),
    ("model/tfidf_lr.yaml", "BaselineSpec"),
    ("select.yaml", "SelectSpec"),
    ("import_annotations.yaml", "ImportSpec"),
    ("serve.yaml", "ServeSpec"),
    ("bench_serve.yaml", "BenchServeSpec"),
    ("logger/none.yaml", "TrackingSpec"),
]
# Fields a YAML file leaves to the code on purpose (a long list, or a value the entry point fills in).
CODE_ONLY = {"TrainSpec": {"threshold_grid"}, "BenchSpec": {"command"}}


@pytest.mark.parametrize("rel,spec_name", SPEC_FILES)
def test_yaml_defaults_equal_the_dataclass_defaults(rel, spec_name):
    """One default per option: the YAML a user reads says what the dataclass does (interpolations aside)."""
    from tfgbv.annotate.importing import ImportSpec
    from tfgbv.annotate.selection import SelectSpec
    from tfgbv.cli.config import dataclass_defaults
    from tfgbv.models.baseline import BaselineSpec
    from tfgbv.predict.files import ScoreSpec
    from tfgbv.report.bench import BenchSpec
    from tfgbv.report.evaluation import EvalSpec
    from tfgbv.serve.bench import BenchServeSpec
    from tfgbv.serve.spec import ServeSpec
    from tfgbv.train.tracking import TrackingSpec
    from tfgbv.train.transformer import TrainSpec

    specs = (TrainSpec, EvalSpec, ScoreSpec, BenchSpec, BaselineSpec, SelectSpec, ImportSpec, ServeSpec, BenchServeSpec)
    specs += (TrackingSpec,)
    cls = {c.__name__: c for c in specs}[spec_name]
    raw = OmegaConf.to_container(OmegaConf.load(CONFIGS / rel), resolve=False)
    defaults = dataclass_defaults(cls)
    differ = {
        k: (v, defaults[k])
        for k, v in raw.items()
        if k in defaults and not ("${" in str(v) or v == "???") and v != defaults[k]  # nested interpolations too
    }
    assert not differ, f"{rel} vs {spec_name} (yaml, dataclass): {differ}"
    assert set(defaults) - set(raw) <= CODE_ONLY.get(spec_name, set()), (
        f"{rel} lacks {sorted(set(defaults) - set(raw))}"
    )


def test_trainer_variants_inherit_and_list_only_what_differs():
    for name in ("small_encoder", "real_mix", "gpu"):
        raw = OmegaConf.load(CONFIGS / "trainer" / f"{name}.yaml")
        assert raw.defaults[0] in ("default", "small_encoder", "real_mix")
        assert len(raw) - 1 < 10, f"trainer/{name}.yaml repeats its parent's keys"


def test_to_spec_rejects_unknown_keys_everywhere_naming_the_group():
    from tfgbv.cli.config import ConfigError, to_spec
    from tfgbv.cli.run import eval_spec
    from tfgbv.models.build import ModelSpec

    with pytest.raises(ConfigError, match=r"evaluation: unknown option\(s\) \['bootstrap'\]"):
        eval_spec(OmegaConf.create({"bootstrap": 3}))
    with pytest.raises(ConfigError, match=r"model.text: unknown option\(s\) \['prefx'\]"):
        to_spec(ModelSpec, {"text": {"prefx": "x"}}, "model")
    assert to_spec(ModelSpec, {"text": {"max_length": 32}}, "model").text.max_length == 32


def test_e5_config_uses_the_measured_tajik_fallback():
    """The character fallback is written once in code (tfgbv.models.coverage, where it was measured) and the e5-small
    config must say the same thing."""
    from tfgbv.models.coverage import E5_TAJIK_FALLBACK

    assert dict(OmegaConf.load(CONFIGS / "model" / "e5-small.yaml").text.char_fallback) == E5_TAJIK_FALLBACK


def test_compile_auto_pays_only_on_large_inputs(tmp_path):
    from tfgbv.cli.scoring import COMPILE_MIN_ROWS, want_compile

    small = tmp_path / "small.jsonl"
    small.write_text('{"id": "a", "text": "x"}\n' * 10, encoding="utf-8")
    assert not want_compile("auto", [str(small)]) and want_compile(True, [str(small)])
    assert not want_compile("auto", ["-"])  # stdin: size unknown
    big = tmp_path / "big.jsonl"
    big.write_text('{"id": "a", "text": "x"}\n' * (COMPILE_MIN_ROWS + 10), encoding="utf-8")
    assert want_compile("auto", [str(big)]) and not want_compile(False, [str(big)])


def test_trainer_gpu_trains_every_layer_for_several_epochs_in_larger_batches():
    default, gpu = (train_spec(_compose("train", over).trainer) for over in ([], ["trainer=gpu"]))
    assert gpu.train_all_layers and not default.train_all_layers
    assert gpu.num_train_epochs > default.num_train_epochs and gpu.eval_strategy == "epoch"
    assert gpu.per_device_train_batch_size > default.per_device_train_batch_size
    assert gpu.learning_rate == default.learning_rate and gpu.bf16 == default.bf16 == "auto"


@pytest.mark.parametrize("backend", ["none", "csv", "tensorboard", "mlflow"])
def test_logger_group_maps_onto_a_tracking_backend(backend, monkeypatch):
    from tfgbv.cli.run import tracking_spec

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    spec = tracking_spec(_compose("train", [f"logger={backend}"]).logger)
    assert spec.backend == backend
    if backend == "mlflow":  # a local SQLite store under runs/ unless MLFLOW_TRACKING_URI says otherwise
        assert spec.tracking_uri.startswith("sqlite:///") and spec.tracking_uri.endswith("/runs/mlflow.db")
    else:
        assert spec.tracking_uri is None
    assert _compose("train", []).logger.backend == "none"

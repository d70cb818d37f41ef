"""Network sizes. The defaults are the published sizes; tests use tiny ones."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class GeneratorConfig:
    """Sizes of the content encoder, style encoder and adaptive U-Net decoder."""

    base_channels: int = 48
    """Channels after the first content conv; doubled by each of the two downsamplings."""
    content_res_blocks: int = 4
    decoder_res_blocks: int = 5
    style_dim: int = 3
    style_channels: tuple[int, ...] = (48, 96, 192, 192, 192)
    """Output channels of the style encoder's five convs."""
    mlp_dim: int = 64
    """Hidden width of the MLP that maps a style code to AdaIN parameters."""
    skip_channels: int = 5
    """Channels carried by each skip connection."""

    @property
    def content_channels(self) -> int:
        return self.base_channels * 4

    def to_dict(self) -> dict:
        return _to_dict(self)

    @classmethod
    def from_dict(cls, data: dict) -> GeneratorConfig:
        return _from_dict(cls, data)

    @classmethod
    def from_state(cls, state: dict) -> GeneratorConfig:
        """Sizes read off a state dict's keys and shapes (published layout), so checkpoints of
        any size load without a config file. KeyError/IndexError: not a generator."""
        style = [state[f"style_encoder.body.{i}.conv.weight"].shape[0] for i in range(5)]
        return cls(
            base_channels=state["content_encoder.model_preparation.0.conv.weight"].shape[0],
            content_res_blocks=_count(state, "content_encoder.model_postprocess.0.model."),
            decoder_res_blocks=_count(state, "decoder.body.0.model."),
            style_dim=state["style_encoder.head.1.weight"].shape[0],
            style_channels=tuple(style),
            mlp_dim=state["decoder.adain_net.model.0.fc.weight"].shape[0],
            skip_channels=state["decoder.skip_preprocess.0.0.conv.weight"].shape[0],
        )


@dataclass(frozen=True)
class EnhancerConfig:
    """Sizes of the RRDB merging network G_enh."""

    in_channels: int = 48
    """16 RGB crops stacked along channels."""
    out_channels: int = 3
    features: int = 64
    blocks: int = 5
    growth: int = 32

    def to_dict(self) -> dict:
        return _to_dict(self)

    @classmethod
    def from_dict(cls, data: dict) -> EnhancerConfig:
        return _from_dict(cls, data)

    @classmethod
    def from_state(cls, state: dict) -> EnhancerConfig:
        """Sizes read off a state dict's keys and shapes (published layout)."""
        first = state["conv_first.weight"]
        return cls(
            in_channels=first.shape[1],
            out_channels=state["conv_last.weight"].shape[0],
            features=first.shape[0],
            blocks=_count(state, "RRDB_trunk."),
            growth=state["RRDB_trunk.0.RDB1.conv1.weight"].shape[0],
        )


def _to_dict(config) -> dict:
    """JSON-ready dict of a config (tuples become lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()}


def _from_dict(cls, data: dict):
    """Build a config from JSON metadata; lists become tuples, unknown keys are an error."""
    known = {f.name for f in fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown {cls.__name__} keys: {sorted(unknown)}")
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def _count(state: dict, prefix: str) -> int:
    """Number of consecutive numbered children `prefix{i}.` present in the keys."""
    i = 0
    while any(k.startswith(f"{prefix}{i}.") for k in state):
        i += 1
    return i

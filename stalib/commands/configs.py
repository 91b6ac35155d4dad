"""``stalib configs``: the named configurations (:data:`stalib.config.CONFIGURATIONS`), each with
the flags it stands for, what it is and where it was chosen."""

from __future__ import annotations

from stalib.config import CONFIGURATION_NOTES, CONFIGURATIONS


def configuration_flags(name: str) -> str:
    """``--schedule joint --epochs 150 ...``: configuration ``name`` as the flags it stands for."""
    flags = []
    for key, value in CONFIGURATIONS[name].items():
        if isinstance(value, dict):
            flag = "--preprocess" if key == "preprocess" else "--set"
            flags += [f"{flag} {k}={str(v).lower() if isinstance(v, bool) else v}"
                      for k, v in value.items()]
        elif value is True:  # a switch (--augment-swap)
            flags.append(f"--{key.replace('_', '-')}")
        else:
            flags.append(f"--{key.replace('_', '-')} {value}")
    return " ".join(flags)



def register(subparsers) -> None:
    p = subparsers.add_parser(
        "configs", help="list the named configurations (--config NAME)",
        description="The named configurations that `stalib train/cv --config NAME`, the report "
        "and TrainConfig.named(NAME) use: the flags each stands for, what it is, and "
        "where it was chosen (inner-validation folds only).")
    p.set_defaults(func=run)


def run(args) -> int:
    for name in CONFIGURATIONS:
        what, chosen = CONFIGURATION_NOTES[name]
        print(f"{name}\n  {what}; {chosen}\n  flags: {configuration_flags(name)}")
    return 0

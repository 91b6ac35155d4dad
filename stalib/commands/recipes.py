"""``stalib recipes``: the named configurations (:data:`stalib.config.RECIPES`), each with the
flags it stands for, what it is and where it was chosen."""

from __future__ import annotations

from stalib.config import RECIPE_NOTES, RECIPES


def recipe_flags(name: str) -> str:
    """``--schedule joint --epochs 150 ...``: recipe ``name`` as the flags it stands for."""
    flags = []
    for key, value in RECIPES[name].items():
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
        "recipes", help="list the named configurations (--recipe NAME)",
        description="The named configurations that `stalib train/cv --recipe NAME`, the report "
        "and TrainConfig.from_recipe(NAME) use: the flags each stands for, what it is, and "
        "where it was chosen (inner-validation folds only).")
    p.set_defaults(func=run)


def run(args) -> int:
    for name in RECIPES:
        what, chosen = RECIPE_NOTES[name]
        print(f"{name}\n  {what}; {chosen}\n  flags: {recipe_flags(name)}")
    return 0

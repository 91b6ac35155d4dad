"""Joint names and bones of the skeleton layouts used here.

A :class:`Layout` describes ONE person: ``J`` joint names and the bones (pairs of 0-based joint
indices) of the kinematic tree. Sequences flatten ``P`` persons into the joint axis, so joint
``p * J + j`` of a frame is joint ``j`` of person ``p`` (see :class:`stalib.data.core.SkeletonSet`);
:meth:`Layout.names` and :meth:`Layout.bones_for` give the flattened names and bones.

Layouts (0-based indices, in the order the files of each dataset store the joints):

* ``sbu`` -- SBU Kinect Interaction (Yun et al. 2012): the 15 OpenNI/NiTE joints, 2 persons.
* ``utkinect`` -- UTKinect-Action3D (Xia et al. 2012): the 20 joints of the Kinect v1 SDK
  (``NUI_SKELETON_POSITION_INDEX`` order), 1 person.
* ``nwucla`` -- Northwestern-UCLA (Wang et al. 2014): UTKinect's 20 joints in UTKinect's order.
* ``utdmhad`` -- UTD-MHAD (Chen et al. 2015): the same 20 Kinect v1 joints in another order
  (head, shoulder centre, spine, hip centre, ...), 1 person.
* ``ntu`` -- NTU RGB+D (Shahroudy et al. 2016): the 25 joints of the Kinect v2 SDK, up to 2
  persons.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class Layout:
    """The joints of one person of a dataset and how they connect.

    Attributes:
        name: short id (``sbu``, ``utkinect``, ``ntu``).
        joint_names: the ``J`` joint names, index = joint index within a person.
        bones: pairs ``(i, j)`` of joint indices (0-based, within a person), a tree.
        persons: how many persons the dataset's sequences hold (``K = persons * J``).
        head: index of the head joint; ``feet``: indices of the feet. Plots use them to draw the
            body upright whatever the sign convention of the vertical axis.
    """

    name: str
    joint_names: tuple[str, ...]
    bones: tuple[tuple[int, int], ...]
    persons: int
    head: int
    feet: tuple[int, ...]

    @property
    def joints_per_person(self) -> int:
        return len(self.joint_names)

    @property
    def num_joints(self) -> int:
        """``K`` for the dataset's usual number of persons."""
        return self.persons * self.joints_per_person

    def persons_in(self, num_joints: int) -> int:
        """How many persons a frame of ``num_joints`` joints holds in this layout."""
        j = self.joints_per_person
        if num_joints <= 0 or num_joints % j:
            raise ValueError(
                f"{num_joints} joints is not a whole number of {self.name} skeletons of {j} joints"
            )
        return num_joints // j

    def names(self, persons: int | None = None) -> list[str]:
        """Flattened joint names, ``"P1 head"`` ... (no prefix when there is one person)."""
        persons = self.persons if persons is None else persons
        if persons == 1:
            return list(self.joint_names)
        return [f"P{p + 1} {n}" for p in range(persons) for n in self.joint_names]

    def reordered(self, name: str, order: tuple[int, ...]) -> Layout:
        """This layout with its joints stored in another ``order`` (``order[i]``: the joint of
        this layout that the new one stores at ``i``); bones, head and feet follow."""
        if sorted(order) != list(range(self.joints_per_person)):
            raise ValueError(f"{name}: order must be a permutation of "
                             f"0..{self.joints_per_person - 1}")
        new = {old: i for i, old in enumerate(order)}
        return Layout(name=name, joint_names=tuple(self.joint_names[i] for i in order),
                      bones=tuple((new[a], new[b]) for a, b in self.bones), persons=self.persons,
                      head=new[self.head], feet=tuple(new[f] for f in self.feet))

    def bones_for(self, persons: int | None = None) -> list[tuple[int, int]]:
        """Bones over the flattened joint axis of ``persons`` persons."""
        persons = self.persons if persons is None else persons
        j = self.joints_per_person
        return [(p * j + a, p * j + b) for p in range(persons) for a, b in self.bones]


SBU = Layout(
    name="sbu",
    joint_names=(
        "head", "neck", "torso",
        "left shoulder", "left elbow", "left hand",
        "right shoulder", "right elbow", "right hand",
        "left hip", "left knee", "left foot",
        "right hip", "right knee", "right foot",
    ),
    bones=(
        (0, 1), (1, 2),
        (1, 3), (3, 4), (4, 5),
        (1, 6), (6, 7), (7, 8),
        (2, 9), (9, 10), (10, 11),
        (2, 12), (12, 13), (13, 14),
    ),
    persons=2,
    head=0,
    feet=(11, 14),
)

UTKINECT = Layout(
    name="utkinect",
    joint_names=(
        "hip center", "spine", "shoulder center", "head",
        "left shoulder", "left elbow", "left wrist", "left hand",
        "right shoulder", "right elbow", "right wrist", "right hand",
        "left hip", "left knee", "left ankle", "left foot",
        "right hip", "right knee", "right ankle", "right foot",
    ),
    bones=(
        (0, 1), (1, 2), (2, 3),
        (2, 4), (4, 5), (5, 6), (6, 7),
        (2, 8), (8, 9), (9, 10), (10, 11),
        (0, 12), (12, 13), (13, 14), (14, 15),
        (0, 16), (16, 17), (17, 18), (18, 19),
    ),
    persons=1,
    head=3,
    feet=(15, 19),
)

NTU = Layout(
    name="ntu",
    joint_names=(
        "spine base", "spine mid", "neck", "head",
        "left shoulder", "left elbow", "left wrist", "left hand",
        "right shoulder", "right elbow", "right wrist", "right hand",
        "left hip", "left knee", "left ankle", "left foot",
        "right hip", "right knee", "right ankle", "right foot",
        "spine shoulder",
        "left hand tip", "left thumb", "right hand tip", "right thumb",
    ),
    bones=(
        (0, 1), (1, 20), (20, 2), (2, 3),
        (20, 4), (4, 5), (5, 6), (6, 7), (7, 21), (7, 22),
        (20, 8), (8, 9), (9, 10), (10, 11), (11, 23), (11, 24),
        (0, 12), (12, 13), (13, 14), (14, 15),
        (0, 16), (16, 17), (17, 18), (18, 19),
    ),
    persons=2,
    head=3,
    feet=(15, 19),
)

#: Northwestern-UCLA stores UTKinect's joints in UTKinect's order.
NWUCLA = dataclasses.replace(UTKINECT, name="nwucla")

#: UTD-MHAD stores the same 20 joints with the first four reversed: head, shoulder center,
#: spine, hip center, then UTKinect's order.
UTDMHAD = UTKINECT.reordered("utdmhad", (3, 2, 1, 0, *range(4, 20)))

LAYOUTS: dict[str, Layout] = {"sbu": SBU, "utkinect": UTKINECT, "nwucla": NWUCLA,
                              "utdmhad": UTDMHAD, "ntu": NTU}
# Dataset ids of the results files (``results/<dataset>/``) that name a layout differently.
_ALIASES = {"ntu60": "ntu", "ntu120": "ntu", "ntu-rgbd": "ntu", "utk": "utkinect"}


def get_layout(name: str | Layout) -> Layout:
    """The layout called ``name`` (``sbu``, ``utkinect``, ``nwucla``, ``utdmhad``, ``ntu``; also
    ``ntu60``)."""
    if isinstance(name, Layout):
        return name
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in LAYOUTS:
        raise ValueError(f"unknown skeleton layout {name!r}; choose one of {', '.join(LAYOUTS)}")
    return LAYOUTS[key]

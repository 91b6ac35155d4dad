"""Skeleton layouts: joint counts, bone trees, flattening of persons."""

from __future__ import annotations

import pytest

from stalib.data.skeletons import LAYOUTS, NTU, SBU, UTKINECT, get_layout


@pytest.mark.parametrize(
    ("layout", "joints", "persons"), [(SBU, 15, 2), (UTKINECT, 20, 1), (NTU, 25, 2)]
)
def test_sizes(layout, joints, persons):
    assert layout.joints_per_person == joints
    assert layout.persons == persons
    assert layout.num_joints == joints * persons
    assert len(set(layout.joint_names)) == joints


@pytest.mark.parametrize("layout", list(LAYOUTS.values()), ids=list(LAYOUTS))
def test_bones_form_a_spanning_tree(layout):
    j = layout.joints_per_person
    assert len(layout.bones) == j - 1
    parent = list(range(j))

    def find(a):
        while parent[a] != a:
            a = parent[a]
        return a

    for a, b in layout.bones:
        assert 0 <= a < j and 0 <= b < j and a != b
        ra, rb = find(a), find(b)
        assert ra != rb, f"bone {(a, b)} closes a cycle"
        parent[ra] = rb
    assert len({find(i) for i in range(j)}) == 1


@pytest.mark.parametrize("layout", list(LAYOUTS.values()), ids=list(LAYOUTS))
def test_head_and_feet_are_named(layout):
    assert "head" in layout.joint_names[layout.head]
    assert all("foot" in layout.joint_names[f] for f in layout.feet)


def test_known_indices():
    assert SBU.joint_names[0] == "head" and SBU.joint_names[8] == "right hand"
    assert UTKINECT.joint_names[0] == "hip center" and UTKINECT.joint_names[3] == "head"
    assert NTU.joint_names[20] == "spine shoulder" and NTU.joint_names[24] == "right thumb"


def test_flattened_persons():
    names = SBU.names()
    assert len(names) == 30
    assert names[0] == "P1 head" and names[15] == "P2 head"
    bones = SBU.bones_for()
    assert len(bones) == 28
    assert (15, 16) in bones  # head-neck of person 2
    assert UTKINECT.names() == list(UTKINECT.joint_names)
    assert len(NTU.bones_for(1)) == 24


def test_persons_in():
    assert NTU.persons_in(50) == 2
    assert NTU.persons_in(25) == 1
    with pytest.raises(ValueError, match="whole number"):
        SBU.persons_in(31)


def test_get_layout_aliases():
    assert get_layout("ntu60") is NTU
    assert get_layout("SBU") is SBU
    assert get_layout(UTKINECT) is UTKINECT
    with pytest.raises(ValueError, match="unknown skeleton layout"):
        get_layout("kinetics")

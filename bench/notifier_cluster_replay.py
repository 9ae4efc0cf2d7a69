"""The notifier's clustering rule (problems/clustering.py) replayed report by report on a matrix of scores,
with the other rules tried for issue 5: complete linkage, the nearest neighbour's cluster, merging two
clusters on average link, and a periodic batch re-clustering of the reports no problem holds yet (as the
index upkeep could run it), optionally merging problems as well. bench/notifier_replay.py measures them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from services.notifier.problems.clustering import CLUSTERS_COMPARED, LINKAGE_MEMBERS
from services.notifier.settings import NotifierSettings

Matrix = NDArray[np.float64]
PROBLEM_MIN_CUSTOMERS = int(NotifierSettings.model_fields["problem_min_customers"].default)


@dataclass
class Clustering:
    """The replayed clusters: each report's cluster, each cluster's members in arrival order."""

    cluster: dict[int, int] = field(default_factory=dict)
    members: dict[int, list[int]] = field(default_factory=dict)
    seen: list[int] = field(default_factory=list)
    published: set[int] | None = None  # deferred publication: the problems the regrouping announced

    def new_cluster(self) -> int:
        self.members[len(self.members)] = []
        return len(self.members) - 1

    def is_problem(self, cluster: int) -> bool:
        """Each report is its own customer here (as in notifier_quality), so customers are members."""
        if self.published is not None:
            return cluster in self.published
        return len(self.members[cluster]) >= PROBLEM_MIN_CUSTOMERS

    def labels(self, size: int) -> list[str]:
        return [str(self.cluster.get(i, f"alone-{i}")) for i in range(size)]


@dataclass(frozen=True)
class Regrouping:
    """Every `every` reports (and after the last), the upkeep re-clusters what no problem holds yet."""

    every: int
    threshold: float
    merge_problems: bool = False
    deferred: bool = False  # problems announced by the regrouping only (up to a period late)


def replay(
    scores: Matrix, threshold: float, order: Sequence[int], *, link: str = "average", regroup: Regrouping | None = None
) -> list[str]:
    """clustering.assign_cluster, report by report: join the cluster most like the report on average
    (`link`: or by its least similar member, or the nearest neighbour's), else start one with the
    unclustered neighbours above the threshold; with `regroup`, a periodic batch re-clustering besides."""
    state = Clustering(published=set() if regroup is not None and regroup.deferred else None)
    for count, report in enumerate(order, start=1):
        _place(scores, threshold, report, state, link)
        if regroup is not None and (count % regroup.every == 0 or count == len(order)):
            _regroup(scores, regroup, state)
    return state.labels(len(scores))


def _place(scores: Matrix, threshold: float, report: int, state: Clustering, link: str) -> None:
    cluster, members = state.cluster, state.members
    earlier = np.asarray(state.seen, np.int64)
    state.seen.append(report)
    row = scores[report, earlier]
    close = [int(earlier[i]) for i in np.argsort(-row, kind="stable") if row[i] >= threshold]
    if not close:
        return
    nearest = list(dict.fromkeys(cluster[m] for m in close if m in cluster))[:CLUSTERS_COMPARED]
    if link == "nearest":
        affinity = {nearest[0]: 1.0} if nearest and close[0] in cluster else {}
    else:
        pick = np.min if link == "complete" else np.mean
        affinity = {c: float(pick(scores[report, members[c][-LINKAGE_MEMBERS:]])) for c in nearest}
    best = max(affinity, key=lambda c: affinity[c], default=None)
    target = best if best is not None and affinity[best] >= threshold else None
    strays = [m for m in close if m not in cluster]
    if target is None and not strays:
        return
    if target is None:
        target = state.new_cluster()
    for m in [report, *strays]:
        cluster[m] = target
        members[target].append(m)
    if link == "merge":
        _merge_close_clusters(scores, threshold=threshold, target=target, nearest=nearest, state=state)


def _merge_close_clusters(
    scores: Matrix, *, threshold: float, target: int, nearest: list[int], state: Clustering
) -> None:
    members = state.members
    for other in nearest:
        if other == target or not members[other]:
            continue
        mine, theirs = members[target][-LINKAGE_MEMBERS:], members[other][-LINKAGE_MEMBERS:]
        if scores[np.ix_(mine, theirs)].mean() >= threshold:
            for m in members[other]:
                state.cluster[m] = target
            members[target] += members[other]
            members[other] = []


def _regroup(scores: Matrix, regroup: Regrouping, state: Clustering) -> None:
    """Average-link agglomeration of the reports no problem holds (their clusters published nothing, so
    they regroup freely), with every problem as a seed they may join; problems merge with each other
    only with `merge_problems` (a ProblemUpdated(change="merged"), as ops' merge publishes)."""
    problems = [c for c, found in state.members.items() if found and state.is_problem(c)]
    free = [r for r in state.seen if r not in state.cluster or not state.is_problem(state.cluster[r])]
    groups = [list(state.members[c]) for c in problems] + [[r] for r in free]
    fixed = [True] * len(problems) + [False] * len(free)
    for report in free:
        state.cluster.pop(report, None)
    for c in state.members:
        if c not in problems:
            state.members[c] = []
    arrival = {r: i for i, r in enumerate(state.seen)}
    for group in average_link(scores, groups, fixed, regroup.threshold, merge_fixed=regroup.merge_problems):
        kept = [c for c in problems if state.members[c] and state.members[c][0] in group]
        if not kept and len(group) < 2:
            continue
        target = kept[0] if kept else state.new_cluster()
        for gone in kept[1:]:
            state.members[gone] = []
        state.members[target] = sorted(group, key=arrival.__getitem__)
        for m in group:
            state.cluster[m] = target
        if state.published is not None and len(group) >= PROBLEM_MIN_CUSTOMERS:
            state.published.add(target)


def average_link(
    scores: Matrix, groups: list[list[int]], fixed: list[bool], threshold: float, *, merge_fixed: bool
) -> list[list[int]]:
    """Agglomerate groups while the best mean score between two reaches the threshold; two fixed groups
    are merged only with `merge_fixed`."""
    if len(groups) < 2:
        return groups
    reports = np.concatenate([np.asarray(g, np.int64) for g in groups])
    owner = np.zeros((len(groups), len(reports)))
    owner[np.repeat(np.arange(len(groups)), [len(g) for g in groups]), np.arange(len(reports))] = 1.0
    sums = owner @ scores[np.ix_(reports, reports)] @ owner.T
    sizes = np.asarray([len(g) for g in groups], np.float64)
    held, alive = np.asarray(fixed), np.ones(len(groups), bool)
    merged = [list(g) for g in groups]
    while True:
        allowed = np.outer(alive, alive) & ~np.eye(len(groups), dtype=bool)
        if not merge_fixed:
            allowed &= ~np.outer(held, held)
        mean = np.where(allowed, sums / np.outer(sizes, sizes), -1.0)
        i, j = (int(x) for x in np.unravel_index(np.argmax(mean), mean.shape))
        if mean[i, j] < threshold:
            return [g for g, a in zip(merged, alive, strict=True) if a]
        if held[j] and not held[i]:
            i, j = j, i
        merged[i] += merged[j]
        sums[i, :] += sums[j, :]
        sums[:, i] += sums[:, j]
        sizes[i] += sizes[j]
        held[i] |= held[j]
        alive[j] = False

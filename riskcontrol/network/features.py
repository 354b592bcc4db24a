"""Network features of every merchant at once, for scoring and monitoring: how many merchants it
is linked to (any kind), how large its identity group is, and its ring score."""

from dataclasses import dataclass

import numpy as np

from riskcontrol.network import rings
from riskcontrol.network.graph import attribute_rows, relation_pairs, trade_counts


@dataclass
class NetworkFeatures:
    merchant_id: np.ndarray  # sorted
    degree: np.ndarray  # distinct linked merchants, any kind
    component_size: np.ndarray  # merchants in its identity group, itself included
    ring_score: np.ndarray  # the shared-attribute detector's score, 0 outside rings

    def of(self, merchant_id: int) -> dict:
        i = int(np.searchsorted(self.merchant_id, merchant_id))
        if i >= len(self.merchant_id) or self.merchant_id[i] != merchant_id:
            return {}
        return {
            "degree": int(self.degree[i]),
            "component_size": int(self.component_size[i]),
            "ring_score": float(self.ring_score[i]),  # float ok: a density, not money
        }


def network_features() -> NetworkFeatures:
    """Three set-based reads (identity attributes, trade between merchants, declared relations),
    then array work; no query per merchant."""
    rows = attribute_rows()
    ids = np.array(sorted(row[0] for row in rows), dtype=np.int64)
    identity = rings.identity_pairs(rows)
    trades = trade_counts()
    links = set(identity) | {(min(s, b), max(s, b)) for s, b in trades} | relation_pairs()
    pairs = np.array(sorted(links), dtype=np.int64).reshape(-1, 2)
    pairs = pairs[np.isin(pairs, ids).all(axis=1)]
    degree = np.bincount(np.searchsorted(ids, pairs.ravel()), minlength=len(ids))

    label = rings.components(ids.tolist(), identity.keys())
    labels = np.array([label[m] for m in ids.tolist()], dtype=np.int64)
    component_size = np.bincount(labels)[labels] if len(labels) else labels

    ring_score = np.zeros(len(ids))
    for ring in rings.shared_attribute_rings(identity, trades):
        at = np.searchsorted(ids, np.array(ring.members))
        ring_score[at] = np.maximum(ring_score[at], ring.score)
    return NetworkFeatures(ids, degree, component_size, ring_score)

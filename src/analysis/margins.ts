// Fig 8a: how strongly the measured spatial IDs of subject a and reference object b express the asked relation,
// relative to their ground-truth IDs. Points are projections onto (h_L, v_L): x grows rightward, y downward.
//   right: (x_a − x_b) − (gx_a − gx_b)      left:  (x_b − x_a) − (gx_b − gx_a)
//   below: (y_a − y_b) − (gy_a − gy_b)      above: (y_b − y_a) − (gy_b − gy_a)
// Positive = the relation is expressed more strongly than the ground truth.

export type Relation = "left" | "right" | "above" | "below";

export interface PlanePoint {
  x: number;
  y: number;
}

export interface PairPoints {
  subject: PlanePoint;
  object: PlanePoint;
}

function separation(rel: Relation, p: PairPoints): number {
  switch (rel) {
    case "right":
      return p.subject.x - p.object.x;
    case "left":
      return p.object.x - p.subject.x;
    case "below":
      return p.subject.y - p.object.y;
    case "above":
      return p.object.y - p.subject.y;
    default:
      throw new Error(`marginRelativeToGt: unknown relation "${String(rel)}"`);
  }
}

export function marginRelativeToGt(relation: Relation, measured: PairPoints, groundTruth: PairPoints): number {
  for (const [name, p] of [["measured", measured], ["groundTruth", groundTruth]] as const) {
    for (const v of [p.subject.x, p.subject.y, p.object.x, p.object.y]) {
      if (!Number.isFinite(v)) throw new Error(`marginRelativeToGt: ${name} has a non-finite coordinate (${v})`);
    }
  }
  return separation(relation, measured) - separation(relation, groundTruth);
}

// Site names (TransformerLens style): `hook_embed` = decoder input embeddings (HF hidden_states[0]);
// `blocks.{i}.hook_resid_post` = residual stream after decoder block i, 0-based (HF hidden_states[i+1]; for the
// last block the pre-final-norm stream).

export type SiteName = "hook_embed" | `blocks.${number}.hook_resid_post`;

/** `blocks.{layer}.hook_resid_post`; `resid(-1)` is `hook_embed`. */
export function resid(layer: number): SiteName {
  return layer < 0 ? "hook_embed" : `blocks.${layer}.hook_resid_post`;
}

const BLOCK = /^blocks\.(\d+)\.hook_resid_post$/;

/** Layer index of a site (-1 for hook_embed); throws naming the valid range. */
export function siteLayer(site: string, numLayers: number): number {
  if (site === "hook_embed") return -1;
  const m = BLOCK.exec(site);
  if (!m)
    throw new Error(`unknown site "${site}": use "hook_embed" or "blocks.{i}.hook_resid_post" with i in 0..${numLayers - 1}`);
  const i = Number(m[1]);
  if (i >= numLayers)
    throw new Error(`layer ${i} out of range in "${site}": the model has ${numLayers} blocks (blocks.0 … blocks.${numLayers - 1})`);
  return i;
}

/** Every site of a model, embeddings first. */
export function allSites(numLayers: number): SiteName[] {
  return [resid(-1), ...Array.from({ length: numLayers }, (_, i) => resid(i))];
}

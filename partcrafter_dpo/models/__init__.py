"""The PartCrafter model family in the diffusers idiom: shared transformer `layers`, the TripoSG `vae`, the part DiT
(`transformer`), the rectified-flow `scheduling` and the `pipeline` that joins them (notebooks `nbs/models/`)."""

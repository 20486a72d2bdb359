"""Pictures in: a picture file read into the chain's size (`load`), its maps and scene graph
(`derive`), inverted so it can be regenerated (`fgdm.inversion`), and edited (`edit`)."""

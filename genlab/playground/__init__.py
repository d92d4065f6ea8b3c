"""The 2-D playground: small GANs, VAEs, flows and DDPMs trained on 2-D points, so that
everything (the discriminator's map, the generator's warp, posteriors, velocity fields, sampler
paths) can be drawn. data2d -> nets -> trainer -> views / divergence -> pack; worker runs a
trainer in its own process. Nothing here imports streamlit."""

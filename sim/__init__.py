"""roadloop simulator. Importing it registers the Gymnasium environments (``roadloop/Drive-v0``)."""
from sim.env.registration import register_envs

register_envs()

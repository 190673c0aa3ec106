//! Health-check policy (vrrp_script scheduling, rise/fall, weights): pure.

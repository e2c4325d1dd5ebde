//! `pmx sim`: a built-in Proxmox VE simulator that speaks the real REST API.

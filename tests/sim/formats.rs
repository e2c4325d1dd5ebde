//! Parameter formats: property strings key by key, named formats, and the parameters PVE lists.

use super::support::*;

/// Sends `param=value` (plus `base`) and expects PVE's `400 Parameter verification failed.` with
/// `errors[param]` equal to `want` (or starting with it when `want` ends in `…`).
async fn refused(api: &Api, method: Method, path: &str, base: &[(&str, &str)], param: &str, value: &str, want: &str) {
    let mut form = base.to_vec();
    form.push((param, value));
    let r = api.call(method.clone(), path, &form).await;
    assert_eq!(r.status, 400, "{method} {path} {param}={value:?} must be refused: {}", r.body);
    assert_eq!(r.body["message"], "Parameter verification failed.\n");
    let errors = r.body["errors"].as_object().unwrap_or_else(|| panic!("no errors map: {}", r.body));
    assert_eq!(errors.keys().collect::<Vec<_>>(), vec![param], "{param}={value:?}: only {param} is wrong: {}", r.body);
    let got = errors[param].as_str().unwrap();
    match want.strip_suffix('…') {
        Some(prefix) => assert!(got.starts_with(prefix), "{param}={value:?}: {got:?} should start with {prefix:?}"),
        None => assert_eq!(got, want, "{param}={value:?}"),
    }
}

#[tokio::test]
async fn qemu_property_strings_are_verified_key_by_key() {
    let api = api().await;
    let base = &[("vmid", "150")];
    let cases: &[(&str, &str, &str)] = &[
        ("net0", "virtio,bridge=vmbr0,tag=0", "invalid format - format error\nnet0.tag: value must have a minimum value of 1\n"),
        ("net0", "virtio,tag=4095", "invalid format - format error\nnet0.tag: value must have a maximum value of 4094\n"),
        ("net1", "virtio,bogus=1", "invalid format - invalid key in comma-separated list property: bogus\n"),
        (
            "net0",
            "e1000-82599,bridge=vmbr0",
            "invalid format - format error\nnet0.model: value 'e1000-82599' does not have a value in the enumeration 'e1000, e1000-82540em, e1000-82544gc, e1000-82545em, e1000e, i82551, i82557b, i82559er, ne2k_isa, ne2k_pci, pcnet, rtl8139, virtio, vmxnet3'\n",
        ),
        ("net0", "virtio,firewall=maybe", "invalid format - format error\nnet0.firewall: type check ('boolean') failed - got 'maybe'\n"),
        ("net0", "virtio,link_down=2", "invalid format - format error\nnet0.link_down: type check ('boolean') failed - got '2'\n"),
        (
            "net0",
            "virtio=01:00:00:00:00:01",
            "invalid format - format error\nnet0.macaddr: invalid format - value does not look like a valid unicast MAC address\n\n",
        ),
        ("net0", "virtio,mtu=70000", "invalid format - format error\nnet0.mtu: value must have a maximum value of 65520\n"),
        ("net0", "virtio,queues=65", "invalid format - format error\nnet0.queues: value must have a maximum value of 64\n"),
        ("net0", "virtio,rate=-1", "invalid format - format error\nnet0.rate: value must have a minimum value of 0\n"),
        ("net0", "virtio,trunks=10,20", "invalid format - duplicate key in comma-separated list property: model\n"),
        ("net0", "virtio=BC:24:11:00:00:01,macaddr=BC:24:11:00:00:02", "invalid format - duplicate key in comma-separated list property: macaddr\n"),
        ("net0", "virtio,trunks=10;x", "invalid format - format error\nnet0.trunks: value does not match the regex pattern\n"),
        ("net0", "bridge=vmbr0", "invalid format - format error\nnet0.model: property is missing and it is not optional\n"),
        ("net0", "model=virtio,e1000=BC:24:11:00:00:01", "invalid format - key alias 'model' is already defined\n"),
        ("scsi0", "local-lvm:2,iothread=maybe", "invalid format - format error\nscsi0.iothread: type check ('boolean') failed - got 'maybe'\n"),
        ("scsi0", "local-lvm:2,ssd=x", "invalid format - format error\nscsi0.ssd: type check ('boolean') failed - got 'x'\n"),
        (
            "scsi0",
            "local-lvm:2,discard=yes",
            "invalid format - format error\nscsi0.discard: value 'yes' does not have a value in the enumeration 'ignore, on'\n",
        ),
        ("scsi0", "local-lvm:2,backup=nope", "invalid format - format error\nscsi0.backup: type check ('boolean') failed - got 'nope'\n"),
        ("scsi0", "local-lvm:2,replicate=nope", "invalid format - format error\nscsi0.replicate: type check ('boolean') failed - got 'nope'\n"),
        (
            "scsi0",
            "local-lvm:2,cache=fast",
            "invalid format - format error\nscsi0.cache: value 'fast' does not have a value in the enumeration 'none, writethrough, writeback, unsafe, directsync'\n",
        ),
        (
            "scsi0",
            "local-lvm:2,aio=posix",
            "invalid format - format error\nscsi0.aio: value 'posix' does not have a value in the enumeration 'native, threads, io_uring'\n",
        ),
        ("scsi0", "local-lvm:vm-150-disk-0,size=8X", "invalid format - format error\nscsi0.size: invalid format - value '8X' is not a valid disk size\n\n"),
        ("scsi0", "local-lvm:2,speed=9", "invalid format - invalid key in comma-separated list property: speed\n"),
        ("scsi0", "nostorage", "invalid format - format error\nscsi0.file: invalid format - unable to parse volume ID 'nostorage'\n\n"),
        ("virtio0", "local-lvm:2,ssd=1", "invalid format - invalid key in comma-separated list property: ssd\n"),
        ("sata0", "local-lvm:2,iothread=1", "invalid format - invalid key in comma-separated list property: iothread\n"),
        ("ide2", "local-lvm:2,ro=1", "invalid format - invalid key in comma-separated list property: ro\n"),
        (
            "efidisk0",
            "local-lvm:1,efitype=8m",
            "invalid format - format error\nefidisk0.efitype: value '8m' does not have a value in the enumeration '2m, 4m'\n",
        ),
        ("efidisk0", "local-lvm:1,pre-enrolled-keys=perhaps", "invalid format - format error\nefidisk0.pre-enrolled-keys: type check ('boolean') failed - got 'perhaps'\n"),
        (
            "tpmstate0",
            "local-lvm:1,version=v3.0",
            "invalid format - format error\ntpmstate0.version: value 'v3.0' does not have a value in the enumeration 'v1.2, v2.0'\n",
        ),
        ("agent", "maybe", "invalid format - format error\nagent.enabled: type check ('boolean') failed - got 'maybe'\n"),
        ("agent", "type=isa", "invalid format - format error\nagent.enabled: property is missing and it is not optional\n"),
        (
            "agent",
            "1,type=usb",
            "invalid format - format error\nagent.type: value 'usb' does not have a value in the enumeration 'virtio, isa'\n",
        ),
        ("agent", "1,freeze=1", "invalid format - invalid key in comma-separated list property: freeze\n"),
        ("boot", "order=scsi0;floppy0", "invalid format - format error\nboot.order: invalid format - invalid boot device 'floppy0'\n\n"),
        ("boot", "order=efidisk0", "invalid format - format error\nboot.order: invalid format - invalid boot device 'efidisk0'\n\n"),
        ("boot", "xyz", "invalid format - format error\nboot.legacy: value does not match the regex pattern\n"),
        ("cpu", "Pentium9", "invalid format - Built-in cputype 'Pentium9' is not defined (missing 'custom-' prefix?)\n"),
        ("cpu", "flags=+aes", "invalid format - CPU is missing cputype\n"),
        ("cpu", "host,hidden=sometimes", "invalid format - format error\nhidden: type check ('boolean') failed - got 'sometimes'\n"),
        ("cpu", "host,flags=aes", "invalid format - format error\nflags: value does not match the regex pattern\n"),
        ("vga", "type=hdmi", "invalid format - format error\nvga.type: value 'hdmi' does not have a value in the enumeration 'cirrus, qxl, qxl2, qxl3, qxl4, none, serial0, serial1, serial2, serial3, std, virtio, virtio-gl, vmware'\n"),
        ("vga", "std,memory=1024", "invalid format - format error\nvga.memory: value must have a maximum value of 512\n"),
        ("startup", "order=first", "invalid format - unable to parse startup options\n"),
        ("startup", "order=1,later=5", "invalid format - unable to parse startup options\n"),
        ("ipconfig0", "ip=10.0.0.5", "invalid format - format error\nipconfig0.ip: invalid format - value does not look like a valid ipv4 network configuration\n\n"),
    ];
    for (param, value, want) in cases {
        refused(&api, Method::POST, "/nodes/pve1/qemu", base, param, value, want).await;
    }
    // The same rules on update.
    create_vm(&api, "pve1", "100", &[]).await;
    refused(
        &api,
        Method::PUT,
        "/nodes/pve1/qemu/100/config",
        &[],
        "net1",
        "virtio,tag=0",
        "invalid format - format error\nnet1.tag: value must have a minimum value of 1\n",
    )
    .await;
    refused(
        &api,
        Method::POST,
        "/nodes/pve1/qemu/100/config",
        &[],
        "scsi1",
        "local-lvm:1,ssd=2",
        "invalid format - format error\nscsi1.ssd: type check ('boolean') failed - got '2'\n",
    )
    .await;
    api.sim.shutdown().await;
}

#[tokio::test]
async fn qemu_valid_property_strings_pass() {
    let api = api().await;
    let form = &[
        ("vmid", "150"),
        ("name", "web-1.example.com"),
        ("net0", "e1000-82540em,bridge=vmbr0"),
        ("net1", "e1000-82544gc=BC:24:11:00:00:01,bridge=vmbr0,firewall=1,link_down=0,tag=4094"),
        ("net2", "model=e1000-82545em,bridge=vmbr0,trunks=10-20;30,rate=12.5,queues=4,mtu=1"),
        ("net3", "virtio=bc:24:11:aa:bb:cc,bridge=vmbr0"),
        ("scsi0", "local-lvm:2,iothread=1,ssd=on,discard=on,backup=0,replicate=no,cache=writeback,aio=io_uring"),
        ("virtio0", "file=local-lvm:1,iothread=true,ro=0,discard=ignore"),
        ("sata0", "local-lvm:1,ssd=1,wwn=0x5000c500a1b2c3d4"),
        ("ide2", "none,media=cdrom"),
        ("efidisk0", "local-lvm:1,efitype=4m,pre-enrolled-keys=1"),
        ("tpmstate0", "local-lvm:1,version=v2.0"),
        ("agent", "enabled=1,fstrim_cloned_disks=1,type=virtio"),
        ("boot", "order=scsi0;ide2;net0"),
        ("cpu", "x86-64-v2-AES,flags=+aes;-pcid"),
        ("vga", "serial0"),
        ("startup", "order=1,up=30,down=60"),
        ("tags", "web;prod,pmx"),
        ("ipconfig0", "ip=10.0.0.5/24,gw=10.0.0.1"),
    ];
    api.run_ok(Method::POST, "/nodes/pve1/qemu", form).await;
    let cfg = api.get("/nodes/pve1/qemu/150/config").await;
    assert!(cfg["net1"].as_str().unwrap().starts_with("e1000-82544gc="), "{}", cfg["net1"]);
    for (param, value) in [
        ("cpu", "cputype=host,hidden=1"),
        ("agent", "1"),
        ("agent", "0"),
        ("boot", "cdn"),
        ("boot", "legacy=c"),
        ("vga", "type=qxl,memory=32"),
        ("startup", "5"),
        ("net4", "virtio"),
        ("net5", "vmxnet3,bridge=vmbr0"),
    ] {
        let r = api.call(Method::PUT, "/nodes/pve1/qemu/150/config", &[(param, value)]).await;
        assert_eq!(r.status, 200, "{param}={value}: {}", r.body);
    }
    api.sim.shutdown().await;
}

#[tokio::test]
async fn lxc_property_strings_are_verified_key_by_key() {
    let api = api().await;
    let base = &[
        ("vmid", "250"),
        ("ostemplate", "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"),
        ("unprivileged", "1"),
    ];
    let cases: &[(&str, &str, &str)] = &[
        ("net0", "bridge=vmbr0", "invalid format - format error\nnet0.name: property is missing and it is not optional\n"),
        ("net0", "name=eth0,tag=5000", "invalid format - format error\nnet0.tag: value must have a maximum value of 4094\n"),
        ("net0", "name=eth0,firewall=sure", "invalid format - format error\nnet0.firewall: type check ('boolean') failed - got 'sure'\n"),
        ("net0", "name=eth0,model=virtio", "invalid format - invalid key in comma-separated list property: model\n"),
        ("net0", "name=eth0,ip=10.0.0.5", "invalid format - format error\nnet0.ip: invalid format - value does not look like a valid ipv4 network configuration\n\n"),
        ("net0", "name=eth0,mtu=10", "invalid format - format error\nnet0.mtu: value must have a minimum value of 64\n"),
        ("rootfs", "local-lvm:8,quota=maybe", "invalid format - format error\nrootfs.quota: type check ('boolean') failed - got 'maybe'\n"),
        ("rootfs", "local-lvm:8,mountoptions=fast", "invalid format - format error\nrootfs.mountoptions: value does not match the regex pattern\n"),
        ("rootfs", "local-lvm:8,backup=1", "invalid format - invalid key in comma-separated list property: backup\n"),
        ("mp0", "local-lvm:8", "invalid format - format error\nmp0.mp: property is missing and it is not optional\n"),
        ("mp0", "local-lvm:8,mp=/srv/../etc", "invalid format - format error\nmp0.mp: invalid format - /srv/../etc contains illegal character sequences\n\n"),
        ("features", "nesting=maybe", "invalid format - format error\nfeatures.nesting: type check ('boolean') failed - got 'maybe'\n"),
        ("features", "nesting=1,docker=1", "invalid format - invalid key in comma-separated list property: docker\n"),
        ("features", "1", "invalid format - value without key, but schema does not define a default key\n"),
        ("hostname", "ct_1", "invalid format - value does not look like a valid DNS name\n"),
        ("startup", "up=soon", "invalid format - unable to parse startup options\n"),
    ];
    for (param, value, want) in cases {
        refused(&api, Method::POST, "/nodes/pve2/lxc", base, param, value, want).await;
    }
    let mut good = base.to_vec();
    good.extend_from_slice(&[
        ("hostname", "ct-1.lan"),
        ("rootfs", "local-lvm:8,mountoptions=noatime;nodev,acl=1"),
        ("net0", "name=eth0,bridge=vmbr0,ip=10.0.0.5/24,gw=10.0.0.1,ip6=auto,firewall=1,tag=10,trunks=10;20"),
        ("features", "nesting=1"),
        ("startup", "order=2,up=10"),
        ("tags", "pmx;lxc"),
    ]);
    let upid = api.ok(Method::POST, "/nodes/pve2/lxc", &good).await;
    assert_eq!(api.wait(&upid).await["exitstatus"], "OK", "nesting is on, so no systemd warning");
    let cfg = api.get("/nodes/pve2/lxc/250/config").await;
    assert_eq!(cfg["hostname"], "ct-1.lan");
    api.sim.shutdown().await;
}

#[tokio::test]
async fn simple_formats_follow_pve() {
    let api = api().await;
    create_vm(&api, "pve1", "100", &[]).await;
    let base = &[("vmid", "150")];
    refused(
        &api,
        Method::POST,
        "/nodes/pve1/qemu",
        base,
        "name",
        "web_1",
        "invalid format - value does not look like a valid DNS name\n",
    )
    .await;
    refused(
        &api,
        Method::POST,
        "/nodes/pve1/qemu",
        base,
        "name",
        "-web",
        "invalid format - value does not look like a valid DNS name\n",
    )
    .await;
    refused(
        &api,
        Method::POST,
        "/nodes/pve1/qemu",
        base,
        "tags",
        "ok;b@d",
        "invalid format - invalid characters in tag\n",
    )
    .await;
    refused(
        &api,
        Method::POST,
        "/nodes/pve1/qemu",
        base,
        "pool",
        "a/b/c/d",
        "invalid format - pool name 'a/b/c/d' nested too deeply (max levels = 3)\n",
    )
    .await;
    refused(
        &api,
        Method::POST,
        "/nodes/pve1/qemu",
        base,
        "storage",
        "local lvm",
        "invalid format - storage ID 'local lvm' contains illegal characters\n",
    )
    .await;
    let cfg_path = "/nodes/pve1/qemu/100/config";
    refused(
        &api,
        Method::PUT,
        cfg_path,
        &[],
        "delete",
        "net0,0bad",
        "invalid format - invalid configuration ID '0bad'\n",
    )
    .await;
    refused(&api, Method::PUT, cfg_path, &[], "delete", "net0;x", "invalid format - invalid configuration ID 'x'\n")
        .await;
    let long = "a".repeat(41);
    refused(&api, Method::PUT, cfg_path, &[], "digest", &long, "value may only be 40 characters long").await;
    refused(&api, Method::POST, cfg_path, &[], "digest", &long, "value may only be 40 characters long").await;
    refused(
        &api,
        Method::PUT,
        "/nodes/pve1/qemu/100/resize",
        &[("disk", "scsi0"), ("size", "+1G")],
        "digest",
        &long,
        "value may only be 40 characters long",
    )
    .await;
    // `delete` is a config-key list on config updates, separated by commas, semicolons or spaces ...
    api.ok(Method::PUT, cfg_path, &[("tags", "a;b"), ("description", "x"), ("onboot", "1")]).await;
    api.ok(Method::PUT, cfg_path, &[("delete", "tags;description onboot")]).await;
    let cfg = api.get(cfg_path).await;
    assert!(cfg.get("tags").is_none() && cfg.get("description").is_none() && cfg.get("onboot").is_none(), "{cfg}");
    // ... and still a boolean on move_disk.
    refused(
        &api,
        Method::POST,
        "/nodes/pve1/qemu/100/move_disk",
        &[("disk", "scsi0"), ("storage", "local")],
        "delete",
        "scsi0",
        "type check ('boolean') failed - got 'scsi0'",
    )
    .await;
    let lxc = &[("vmid", "250"), ("ostemplate", "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst")];
    refused(
        &api,
        Method::POST,
        "/nodes/pve2/lxc",
        lxc,
        "hostname",
        &format!("{}.lan", "a".repeat(252)),
        "value may only be 255 characters long",
    )
    .await;
    api.sim.shutdown().await;
}

#[tokio::test]
async fn pool_ids_follow_pve_8_1() {
    let api = api().await;
    for id in ["1bad", "0", "team_a.prod-1", "parent", "parent/child", "parent/child/leaf"] {
        let r = api.call(Method::POST, "/pools", &[("poolid", id)]).await;
        assert_eq!(r.status, 200, "pool id {id:?} is valid in PVE 8.1+: {}", r.body);
    }
    let ids: Vec<String> =
        api.get("/pools").await.as_array().unwrap().iter().map(|p| p["poolid"].as_str().unwrap().to_string()).collect();
    for id in ["1bad", "parent/child/leaf"] {
        assert!(ids.iter().any(|i| i == id), "{id} listed in {ids:?}");
    }
    refused(
        &api,
        Method::POST,
        "/pools",
        &[],
        "poolid",
        "bad pool",
        "invalid format - pool name 'bad pool' contains illegal characters\n",
    )
    .await;
    refused(
        &api,
        Method::POST,
        "/pools",
        &[],
        "poolid",
        "a//b",
        "invalid format - pool name 'a//b' contains illegal characters\n",
    )
    .await;
    refused(
        &api,
        Method::POST,
        "/pools",
        &[],
        "poolid",
        "a/b/c/d",
        "invalid format - pool name 'a/b/c/d' nested too deeply (max levels = 3)\n",
    )
    .await;
    // VMs join a pool whose id starts with a digit.
    create_vm(&api, "pve1", "100", &[("pool", "1bad")]).await;
    let pools = api.get("/pools?poolid=1bad").await;
    assert!(pools.to_string().contains("qemu/100"), "{pools}");
    api.sim.shutdown().await;
}

#[tokio::test]
async fn parameters_pve_lists_are_accepted_and_checked() {
    let api = api().await;
    create_vm(&api, "pve1", "100", &[]).await;
    let upid = api
        .ok(Method::POST, "/nodes/pve1/qemu/100/config", &[("cores", "3"), ("import-working-storage", "local-lvm")])
        .await;
    assert_eq!(api.wait(&upid).await["exitstatus"], "OK");
    refused(
        &api,
        Method::POST,
        "/nodes/pve1/qemu/100/config",
        &[],
        "import-working-storage",
        "local lvm",
        "invalid format - storage ID 'local lvm' contains illegal characters\n",
    )
    .await;
    let r = api.call(Method::PUT, "/nodes/pve1/qemu/100/config", &[("import-working-storage", "local-lvm")]).await;
    assert_eq!(r.status, 400, "PUT config has no import-working-storage in PVE: {}", r.body);
    let start = "/nodes/pve1/qemu/100/status/start";
    refused(
        &api,
        Method::POST,
        start,
        &[],
        "migration_network",
        "10.0.0.0",
        "invalid format - value does not look like a valid CIDR network\n",
    )
    .await;
    refused(&api, Method::POST, start, &[], "nets-host-mtu", "net0=big", "value does not match the regex pattern")
        .await;
    refused(
        &api,
        Method::POST,
        start,
        &[],
        "with-conntrack-state",
        "perhaps",
        "type check ('boolean') failed - got 'perhaps'",
    )
    .await;
    api.run_ok(
        Method::POST,
        start,
        &[
            ("migration_network", "10.0.0.0/24"),
            ("nets-host-mtu", "net0=1500,net1=9000"),
            ("with-conntrack-state", "1"),
        ],
    )
    .await;
    assert_eq!(api.get("/nodes/pve1/qemu/100/status/current").await["status"], "running");
    api.run_ok(Method::POST, "/nodes/pve1/qemu/100/status/stop", &[]).await;
    let migrate = "/nodes/pve1/qemu/100/migrate";
    refused(
        &api,
        Method::POST,
        migrate,
        &[("target", "pve3")],
        "with-conntrack-state",
        "x",
        "type check ('boolean') failed - got 'x'",
    )
    .await;
    refused(&api, Method::POST, migrate, &[("target", "pve3")], "targetstorage", "local-lvm:bad!id", "invalid format - entry 'local-lvm:bad!id' contains invalid ID - storage ID 'bad!id' contains illegal characters\n\n").await;
    api.run_ok(
        Method::POST,
        migrate,
        &[("target", "pve3"), ("with-conntrack-state", "0"), ("migration_network", "fd00::/64")],
    )
    .await;
    api.sim.shutdown().await;
}

/// An API token is never root@pam, even `root@pam!pmx`: what PVE keeps for root@pam itself is
/// refused to it (403 or PVE's message), and allowed to a root@pam ticket.
#[tokio::test]
async fn tokens_are_not_root_and_secrets_and_tags_read_back_as_pve_writes_them() {
    let api = api().await;
    create_vm(&api, "pve1", "100", &[]).await;
    let r = api.call(Method::PUT, "/nodes/pve1/qemu/100/config", &[("args", "-cpu host")]).await;
    assert_eq!(r.body["message"], "only root can set 'args' config\n");
    let r = api.call(Method::PUT, "/nodes/pve1/qemu/100/config", &[("hostpci0", "0000:01:00.0")]).await;
    assert_eq!(r.body["message"], "only root can set 'hostpci0' config for non-mapped devices\n");
    let r = api.call(Method::PUT, "/nodes/pve1/qemu/100/config", &[("scsi1", "/dev/disk/by-id/ata-x")]).await;
    assert_eq!(
        (r.status.as_u16(), r.body["message"].as_str()),
        (403, Some("Only root can pass arbitrary filesystem paths.\n"))
    );
    let ct = [
        ("vmid", "200"),
        ("ostemplate", "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"),
        ("storage", "local-lvm"),
        ("features", "nesting=1,keyctl=1"),
    ];
    let r = api.call(Method::POST, "/nodes/pve1/lxc", &ct).await;
    assert_eq!(r.status, 403, "{}", r.body);
    // PVE 9 creates unprivileged containers unless told otherwise, where a token may set
    // nesting (check_ct_modify_config_perm); on a privileged one even nesting needs root.
    let mut nesting_only = ct.to_vec();
    nesting_only[3] = ("features", "nesting=1");
    let mut privileged = nesting_only.clone();
    privileged.push(("unprivileged", "0"));
    let r = api.call(Method::POST, "/nodes/pve1/lxc", &privileged).await;
    assert_eq!(
        r.body["message"],
        "Permission check failed (changing feature flags for privileged container is only allowed for root@pam)\n"
    );
    api.run_ok(Method::POST, "/nodes/pve1/lxc", &nesting_only).await;
    let r = api.call(Method::PUT, "/nodes/pve1/qemu/100/config", &[("sshkeys", "not%20a%20key")]).await;
    assert_eq!(r.body["message"], "SSH public key validation error\n");

    // root@pam with a ticket may.
    let login = api
        .http
        .post(format!("{}/api2/json/access/ticket", api.sim.base_url))
        .form(&[("username", "root@pam"), ("password", api.sim.password.as_str())])
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let (ticket, csrf) =
        (login["data"]["ticket"].as_str().unwrap(), login["data"]["CSRFPreventionToken"].as_str().unwrap());
    let r = api
        .http
        .put(format!("{}/api2/json/nodes/pve1/qemu/100/config", api.sim.base_url))
        .header("Cookie", format!("PVEAuthCookie={ticket}"))
        .header("CSRFPreventionToken", csrf)
        .form(&[("args", "-cpu host")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Tags are stored as get_unique_tags writes them; the cloud-init password never reads back.
    api.ok(Method::PUT, "/nodes/pve1/qemu/100/config", &[("tags", "web,Prod;prod db"), ("cipassword", "hunter2")])
        .await;
    let cfg = api.get("/nodes/pve1/qemu/100/config").await;
    assert_eq!(cfg["tags"], "db;prod;web");
    assert_eq!(cfg["cipassword"], "**********");
    assert!(!api.get("/nodes/pve1/qemu/100/pending").await.to_string().contains("hunter2"));
    // A new disk drops format=; vmgenid=1 asks for a generated one.
    api.run_ok(
        Method::POST,
        "/nodes/pve1/qemu",
        &[("vmid", "101"), ("virtio0", "local-lvm:1,format=raw"), ("vmgenid", "1")],
    )
    .await;
    let cfg = api.get("/nodes/pve1/qemu/101/config").await;
    assert_eq!(cfg["virtio0"], "local-lvm:vm-101-disk-0,size=1G");
    assert_eq!(cfg["vmgenid"].as_str().map(str::len), Some(36), "{}", cfg["vmgenid"]);
    api.sim.shutdown().await;
}

#[tokio::test]
async fn machine_serial_and_rng_are_verified() {
    let api = api().await;
    create_vm(&api, "pve1", "100", &[]).await;
    let path = "/nodes/pve1/qemu/100/config";
    for (param, value, want) in [
        ("machine", "q36", "invalid format - format error\nmachine.type: value does not match the regex pattern\n"),
        ("machine", "q35,viommu=amd", "invalid format - format error\nmachine.viommu: value 'amd' does not have a value in the enumeration 'intel, virtio'\n"),
        ("machine", "q35,aw-bits=99", "invalid format - format error\nmachine.aw-bits: value must have a maximum value of 64\n"),
        ("serial0", "pty", "value does not match the regex pattern"),
        ("rng0", "source=/dev/zero", "invalid format - format error\nrng0.source: value '/dev/zero' does not have a value in the enumeration '/dev/urandom, /dev/random, /dev/hwrng'\n"),
    ] {
        refused(&api, Method::PUT, path, &[], param, value, want).await;
    }
    for (param, value) in [
        ("machine", "pc-q35-8.1+pve0,viommu=virtio"),
        ("machine", "q35"),
        ("serial0", "socket"),
        ("rng0", "source=/dev/urandom,max_bytes=1024,period=1000"),
    ] {
        api.ok(Method::PUT, path, &[(param, value)]).await;
    }
    // A real device passes the format but is root@pam's alone ($check_vm_create_serial_perm);
    // the API token is not root@pam.
    let r = api.call(Method::PUT, path, &[("serial1", "/dev/ttyS0")]).await;
    assert_eq!(r.status, 500, "{}", r.body);
    assert_eq!(r.body["message"], "only root can set 'serial1' config for real devices\n");
    api.sim.shutdown().await;
}

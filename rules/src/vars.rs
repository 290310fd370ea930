//! Rule variables: address groups (`$HOME_NET`) and port groups
//! (`$HTTP_PORTS`), as in the `vars:` section of suricata.yaml.
//!
//! Values are kept as text and resolved when a rule uses them, so a bad
//! value is reported at the rule that needs it, with the variable named.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::indexing_slicing))]

use std::collections::BTreeMap;

/// Address and port group variables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vars {
    pub(crate) address: BTreeMap<String, String>,
    pub(crate) port: BTreeMap<String, String>,
}

const HOME_NET: &str = "[192.168.0.0/16,10.0.0.0/8,172.16.0.0/12]";

impl Default for Vars {
    /// The defaults of Suricata's stock suricata.yaml.
    fn default() -> Self {
        let mut v = Vars::empty();
        v.set_address("HOME_NET", HOME_NET);
        v.set_address("EXTERNAL_NET", "!$HOME_NET");
        for name in [
            "HTTP_SERVERS",
            "SMTP_SERVERS",
            "SQL_SERVERS",
            "DNS_SERVERS",
            "TELNET_SERVERS",
            "AIM_SERVERS",
            "DC_SERVERS",
            "DNP3_SERVER",
            "DNP3_CLIENT",
            "MODBUS_CLIENT",
            "MODBUS_SERVER",
            "ENIP_CLIENT",
            "ENIP_SERVER",
        ] {
            v.set_address(name, "$HOME_NET");
        }
        for (name, value) in [
            ("HTTP_PORTS", "80"),
            ("SHELLCODE_PORTS", "!80"),
            ("ORACLE_PORTS", "1521"),
            ("SSH_PORTS", "22"),
            ("DNP3_PORTS", "20000"),
            ("MODBUS_PORTS", "502"),
            ("FILE_DATA_PORTS", "[$HTTP_PORTS,110,143]"),
            ("FTP_PORTS", "21"),
            ("GENEVE_PORTS", "6081"),
            ("VXLAN_PORTS", "4789"),
            ("TEREDO_PORTS", "3544"),
        ] {
            v.set_port(name, value);
        }
        v
    }
}

fn key(name: &str) -> String {
    name.trim().trim_start_matches('$').to_string()
}

impl Vars {
    /// No variables at all.
    pub fn empty() -> Self {
        Vars {
            address: BTreeMap::new(),
            port: BTreeMap::new(),
        }
    }

    /// Define or replace an address group (`HOME_NET` or `$HOME_NET`).
    pub fn set_address(&mut self, name: &str, value: &str) {
        self.address.insert(key(name), value.trim().to_string());
    }

    /// Define or replace a port group (`HTTP_PORTS` or `$HTTP_PORTS`).
    pub fn set_port(&mut self, name: &str, value: &str) {
        self.port.insert(key(name), value.trim().to_string());
    }

    /// The text of an address group, if defined.
    pub fn address(&self, name: &str) -> Option<&str> {
        self.address.get(&key(name)).map(String::as_str)
    }

    /// The text of a port group, if defined.
    pub fn port(&self, name: &str) -> Option<&str> {
        self.port.get(&key(name)).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::IpSet;
    use crate::group::{GroupSet, Resolver};
    use crate::port::PortSet;
    use std::collections::HashMap;
    use std::net::IpAddr;

    fn addr(vars: &Vars, text: &str) -> Result<IpSet, crate::error::SpanError> {
        let mut cache = HashMap::new();
        Resolver::<IpSet>::new(&vars.address, &mut cache).resolve(text)
    }
    fn port(vars: &Vars, text: &str) -> Result<PortSet, crate::error::SpanError> {
        let mut cache = HashMap::new();
        Resolver::<PortSet>::new(&vars.port, &mut cache).resolve(text)
    }
    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn defaults_resolve() {
        let v = Vars::default();
        let home = addr(&v, "$HOME_NET").unwrap();
        assert!(home.contains(ip("10.1.2.3")) && home.contains(ip("172.31.0.1")));
        assert!(!home.contains(ip("8.8.8.8")) && !home.contains(ip("2001:db8::1")));
        let ext = addr(&v, "$EXTERNAL_NET").unwrap();
        assert!(ext.contains(ip("8.8.8.8")) && ext.contains(ip("2001:db8::1")));
        assert!(!ext.contains(ip("192.168.1.1")));
        assert!(addr(&v, "$HTTP_SERVERS").unwrap().contains(ip("10.0.0.1")));
        let fd = port(&v, "$FILE_DATA_PORTS").unwrap();
        assert!(fd.contains(80) && fd.contains(110) && fd.contains(143) && !fd.contains(81));
        let sc = port(&v, "$SHELLCODE_PORTS").unwrap();
        assert!(!sc.contains(80) && sc.contains(81));
        for (name, p) in [
            ("ORACLE_PORTS", 1521),
            ("SSH_PORTS", 22),
            ("DNP3_PORTS", 20000),
            ("MODBUS_PORTS", 502),
            ("FTP_PORTS", 21),
            ("GENEVE_PORTS", 6081),
            ("VXLAN_PORTS", 4789),
            ("TEREDO_PORTS", 3544),
        ] {
            let s = port(&v, &format!("${name}")).unwrap();
            assert!(s.contains(p) && !s.contains(p + 1), "{name}");
        }
    }

    #[test]
    fn nested_lists_and_negation() {
        let v = Vars::default();
        let s = addr(&v, "[10.0.0.0/8, ![10.1.0.0/16, !10.1.2.0/24]]").unwrap();
        assert!(s.contains(ip("10.2.0.1")));
        assert!(!s.contains(ip("10.1.9.1")));
        assert!(s.contains(ip("10.1.2.200")));
        assert!(!s.contains(ip("11.0.0.0")));
        let only_neg = addr(&v, "[!1.2.3.4,!5.6.7.8]").unwrap();
        assert!(only_neg.contains(ip("1.2.3.5")) && !only_neg.contains(ip("5.6.7.8")));
        let ports = port(&v, "[1:40,!30:35, $HTTP_PORTS]").unwrap();
        assert!(ports.contains(29) && !ports.contains(32) && ports.contains(80) && !ports.contains(81));
        assert!(port(&v, "!$HTTP_PORTS").unwrap().contains(8080));
        assert!(addr(&v, "!!1.2.3.4").unwrap().contains(ip("1.2.3.4")));
    }

    #[test]
    fn empty_groups_are_errors() {
        let v = Vars::default();
        assert!(addr(&v, "!any").is_err());
        assert!(addr(&v, "[1.2.3.4,!1.2.3.4]").is_err());
        assert!(port(&v, "[80,!80]").is_err());
        assert!(addr(&v, "[]").is_err());
    }

    #[test]
    fn cycles_and_unknowns() {
        let mut v = Vars::default();
        v.set_address("A", "[$B,1.1.1.1]");
        v.set_address("$B", "$A");
        v.set_address("C", "[$C]");
        let e = addr(&v, "$A").unwrap_err();
        assert!(e.message.contains("cycle"), "{}", e.message);
        assert!(addr(&v, "$C").unwrap_err().message.contains("cycle"));
        let e = addr(&v, "[1.1.1.1, $NOPE]").unwrap_err();
        assert_eq!((e.at, e.reason), (10, "unknown variable"));
        // Port variables are a separate namespace.
        assert_eq!(addr(&v, "$HTTP_PORTS").unwrap_err().reason, "unknown variable");
        v.set_port("BAD", "[1,99999]");
        let e = port(&v, "[22, $BAD]").unwrap_err();
        assert_eq!(e.at, 5);
        assert!(e.message.contains("in $BAD"), "{}", e.message);
    }

    #[test]
    fn error_positions_in_lists() {
        let v = Vars::default();
        let e = addr(&v, "[1.2.3.4, 300.1.1.1]").unwrap_err();
        assert_eq!((e.at, e.reason), (10, "bad address"));
        let e = addr(&v, "[1.2.3.4").unwrap_err();
        assert_eq!(e.at, 8);
        let e = port(&v, "[80 90]").unwrap_err();
        assert_eq!(e.at, 4);
        let deep = format!("{}1.1.1.1{}", "[".repeat(100), "]".repeat(100));
        assert!(addr(&v, &deep).is_err());
        assert!(IpSet::parse_leaf("1.1.1.1").is_ok());
    }
}

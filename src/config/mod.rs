//! keepalived.conf front end: lexer -> block tree -> typed model -> validation -> `vrrp::spec`.

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let code = match rkeepalived::cli::parse_args(&argv) {
        Ok(args) => rkeepalived::cli::run(args),
        Err(e) => {
            if e.status.is_ok() {
                print!("{}", e.output);
                0
            } else {
                eprint!("{}", e.output);
                1
            }
        }
    };
    std::process::exit(code);
}

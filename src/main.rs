fn main() {
    let args: rkeepalived::cli::Args = argh::from_env();
    std::process::exit(rkeepalived::cli::run(args));
}

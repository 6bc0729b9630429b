//! Closed-form results of queueing theory for stable systems (ρ < 1).
//!
//! Sources: Kleinrock, *Queueing Systems* vol. 1 (1975), §3.5 (M/M/c, Erlang C) and §5.6
//! (M/G/1, Pollaczek–Khinchine); Little, "A proof for the queuing formula L = λW",
//! Operations Research 9(3), 1961.

/// Erlang C: the probability that an arrival to an M/M/c queue waits, with `servers`
/// servers and offered load `a = λ/μ` (in Erlangs, `a < servers`).
///
/// Computed through the Erlang B recursion B(k) = a·B(k−1) / (k + a·B(k−1)), which is
/// numerically stable for any number of servers, then C = c·B / (c − a·(1 − B)).
pub fn erlang_c(servers: u32, a: f64) -> f64 {
    let c = servers as f64;
    let mut b = 1.0;
    for k in 1..=servers {
        b = a * b / (k as f64 + a * b);
    }
    c * b / (c - a * (1.0 - b))
}

/// Mean time in queue (before service) of an M/M/c queue [s]: C(c, a) / (cμ − λ).
pub fn mmc_mean_wait(servers: u32, arrival_rate: f64, service_rate: f64) -> f64 {
    let a = arrival_rate / service_rate;
    erlang_c(servers, a) / (servers as f64 * service_rate - arrival_rate)
}

/// Mean time in queue of an M/G/1 queue by Pollaczek–Khinchine [s]:
/// Wq = λ·E[S²] / (2(1 − ρ)), with E[S²] = E[S]²(1 + cv²) and ρ = λ·E[S].
/// `scv` is the squared coefficient of variation of service: 0 for deterministic
/// service (M/D/1), 1 for exponential (M/M/1).
pub fn mg1_mean_wait(arrival_rate: f64, mean_service: f64, scv: f64) -> f64 {
    let rho = arrival_rate * mean_service;
    let second_moment = mean_service * mean_service * (1.0 + scv);
    arrival_rate * second_moment / (2.0 * (1.0 - rho))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erlang_c_matches_textbook_values() {
        // One server: P(wait) = ρ.
        assert!((erlang_c(1, 0.8) - 0.8).abs() < 1e-12);
        // Two servers, a = 1: C = (a²/2!·2/(2−a)) / (1 + a + a²/2!·2/(2−a)) = 1/3.
        assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-12);
        // c = 8, a = 7.2 (ρ = 0.9): against the direct sum formula.
        let direct = {
            let (c, a) = (8.0f64, 7.2f64);
            let fact = |n: u32| (1..=n).map(f64::from).product::<f64>();
            let sum: f64 = (0..8).map(|k| a.powi(k as i32) / fact(k)).sum();
            let top = a.powi(8) / fact(8) * c / (c - a);
            top / (sum + top)
        };
        assert!((erlang_c(8, 7.2) - direct).abs() < 1e-12);
    }

    #[test]
    fn mmc_with_one_server_is_mm1() {
        let (lambda, mu) = (0.8, 1.0);
        let mm1 = lambda / (mu * (mu - lambda));
        assert!((mmc_mean_wait(1, lambda, mu) - mm1).abs() < 1e-12);
        assert!((mg1_mean_wait(lambda, 1.0 / mu, 1.0) - mm1).abs() < 1e-12);
    }

    #[test]
    fn md1_waits_half_as_long_as_mm1() {
        let md1 = mg1_mean_wait(0.8, 1.0, 0.0);
        let mm1 = mg1_mean_wait(0.8, 1.0, 1.0);
        assert!((md1 * 2.0 - mm1).abs() < 1e-12);
        assert!((md1 - 2.0).abs() < 1e-12);
    }
}

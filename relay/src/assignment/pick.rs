//! Who gets which conversation when several wait: a pure choice, so its fairness is tested on
//! its own.

use switchboard_shared::support::AssignmentMode;

/// An agent on duty, with the open conversations they hold now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnDuty {
    pub id: i64,
    pub load: i64,
    pub capacity: Option<i64>,
}

impl OnDuty {
    fn has_room(&self) -> bool {
        self.capacity.is_none_or(|c| self.load < c)
    }
}

/// Hands out `n` conversations, in order, to the agents on duty: with least-open each goes to
/// the one holding the fewest (ties to the earlier in `agents`), so a batch evens the loads;
/// with round-robin each goes to the next in turn after `last` (by id), skipping the full.
/// Nobody over capacity gets one (`None`: it stays in the queue). Loads are updated; returns
/// the choices and the last agent chosen.
pub fn hand_out(mode: AssignmentMode, agents: &mut [OnDuty], n: usize, mut last: Option<i64>) -> (Vec<Option<i64>>, Option<i64>) {
    let mut chosen = Vec::with_capacity(n);
    for _ in 0..n {
        let pick = match mode {
            AssignmentMode::Manual => None,
            AssignmentMode::LeastOpen => {
                agents.iter().enumerate().filter(|(_, a)| a.has_room()).min_by_key(|(i, a)| (a.load, *i)).map(|(i, _)| i)
            }
            AssignmentMode::RoundRobin => {
                let mut order: Vec<usize> = (0..agents.len()).filter(|i| agents[*i].has_room()).collect();
                order.sort_by_key(|i| agents[*i].id);
                let after = last.unwrap_or(i64::MIN);
                order.iter().copied().find(|i| agents[*i].id > after).or_else(|| order.first().copied())
            }
        };
        chosen.push(pick.map(|i| {
            agents[i].load += 1;
            last = Some(agents[i].id);
            agents[i].id
        }));
    }
    (chosen, last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn team(loads: &[(i64, i64, Option<i64>)]) -> Vec<OnDuty> {
        loads.iter().map(|&(id, load, capacity)| OnDuty { id, load, capacity }).collect()
    }

    fn counts(chosen: &[Option<i64>], ids: &[i64]) -> Vec<usize> {
        ids.iter().map(|id| chosen.iter().filter(|c| **c == Some(*id)).count()).collect()
    }

    #[test]
    fn fifty_left_from_the_night_go_ten_to_each_of_five() {
        for mode in [AssignmentMode::LeastOpen, AssignmentMode::RoundRobin] {
            let mut agents = team(&[(1, 0, None), (2, 0, None), (3, 0, None), (4, 0, None), (5, 0, None)]);
            let (chosen, _) = hand_out(mode, &mut agents, 50, None);
            assert_eq!(counts(&chosen, &[1, 2, 3, 4, 5]), [10, 10, 10, 10, 10], "{mode:?}");
        }
    }

    #[test]
    fn least_open_evens_out_uneven_loads_and_respects_capacity() {
        let mut agents = team(&[(1, 6, None), (2, 0, None), (3, 2, Some(4))]);
        let (chosen, _) = hand_out(AssignmentMode::LeastOpen, &mut agents, 9, None);
        // 2 catches up with 3 first, then they alternate until 3 stops at its capacity of 4;
        // 2 goes on alone up to 1's six, and the ninth goes to the earlier of the two tied.
        assert_eq!(counts(&chosen, &[1, 2, 3]), [1, 6, 2]);
        assert_eq!(agents.iter().map(|a| a.load).collect::<Vec<_>>(), [7, 6, 4]);
    }

    #[test]
    fn round_robin_goes_on_from_the_last_one_and_skips_the_full() {
        let mut agents = team(&[(30, 0, None), (10, 0, None), (20, 5, Some(5))]);
        let (chosen, last) = hand_out(AssignmentMode::RoundRobin, &mut agents, 3, Some(10));
        assert_eq!(chosen, [Some(30), Some(10), Some(30)]);
        assert_eq!(last, Some(30));
    }

    #[test]
    fn nobody_with_room_leaves_them_in_the_queue() {
        let mut agents = team(&[(1, 3, Some(3))]);
        assert_eq!(hand_out(AssignmentMode::LeastOpen, &mut agents, 2, None).0, [None, None]);
        assert_eq!(hand_out(AssignmentMode::RoundRobin, &mut [], 1, None).0, [None]);
        assert_eq!(hand_out(AssignmentMode::Manual, &mut team(&[(1, 0, None)]), 1, None).0, [None]);
    }
}

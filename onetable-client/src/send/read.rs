//! `Table::send_read`: a read whose response body the library keeps to decode itself
//! (see `crate::capture`).

use super::operation::Operation;
use super::Failure;
use crate::capture::{Capture, Captured, Member, CAPTURE};

impl crate::Table {
    /// Sends read `request`, keeping the value of its response's `member` for the
    /// library to decode when `direct` (see the module): the output, and the kept
    /// body (`None`: not asked, or the response had no such member).
    pub(crate) async fn send_read<O: Operation>(
        &self,
        call: &super::Call,
        request: O,
        member: Member,
        direct: bool,
    ) -> Result<(O::Output, Option<Captured>), Failure> {
        if !direct {
            return self.send(call, request).await.map(|out| (out, None));
        }
        let capture = Capture::new(member);
        let out = CAPTURE.scope(capture.clone(), self.send(call, request)).await?;
        Ok((out, capture.take()))
    }
}

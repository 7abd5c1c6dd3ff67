package runtime

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// containerdSubscribe is containerd's own event stream, on the socket that
// serves its CRI.
const containerdSubscribe = "/containerd.services.events.v1.Events/Subscribe"

// containerdEvents kicks a CRI list on every event containerd publishes
// (a container created, a task started...), for containerd 1.6, whose CRI
// has no event stream: the CRI then lists a container between its
// creation and its start, so the events of its first processes are named
// without waiting for the next timed list. A runtime that is not
// containerd answers Unimplemented, and the timer alone lists.
//
// The request, a SubscribeRequest without filters, is an empty message;
// each Envelope received is read as an empty message too (its fields kept
// as unknown ones): only its arrival matters, so no containerd API module
// is needed.
func (c *criSource) containerdEvents(ctx context.Context, kick chan<- struct{}) {
	stream, err := c.conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, containerdSubscribe)
	if err != nil {
		return
	}
	if err := stream.SendMsg(&emptypb.Empty{}); err != nil {
		return
	}
	if err := stream.CloseSend(); err != nil {
		return
	}
	for {
		var envelope emptypb.Empty
		if err := stream.RecvMsg(&envelope); err != nil {
			return
		}
		select {
		case kick <- struct{}{}:
		default:
		}
	}
}

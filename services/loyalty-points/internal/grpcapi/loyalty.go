package grpcapi

import (
	"context"
	"log/slog"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ssokit/platform/libs/bearer"
	loyaltyv1 "github.com/ssokit/platform/libs/gen/loyalty/v1"
	"github.com/ssokit/platform/services/loyalty-points/internal/ledger"
)

// LoyaltyServer serves loyalty.v1.LoyaltyService.
type LoyaltyServer struct {
	loyaltyv1.UnimplementedLoyaltyServiceServer
	svc *ledger.Service
	log *slog.Logger
}

var _ loyaltyv1.LoyaltyServiceServer = (*LoyaltyServer)(nil)

// NewLoyaltyServer returns the LoyaltyService handlers over svc.
func NewLoyaltyServer(svc *ledger.Service, log *slog.Logger) *LoyaltyServer {
	return &LoyaltyServer{svc: svc, log: log}
}

func (s *LoyaltyServer) GetAccount(ctx context.Context, req *loyaltyv1.GetAccountRequest) (*loyaltyv1.GetAccountResponse, error) {
	a, err := s.svc.Account(ctx, bearer.Token(ctx), req.GetUserId())
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	return &loyaltyv1.GetAccountResponse{
		UserId:    a.UserID,
		Balance:   a.Balance,
		UpdatedAt: timestamppb.New(a.UpdatedAt),
	}, nil
}

func (s *LoyaltyServer) ListTransactions(ctx context.Context, req *loyaltyv1.ListTransactionsRequest) (*loyaltyv1.ListTransactionsResponse, error) {
	page, err := s.svc.History(ctx, bearer.Token(ctx), ledger.HistoryQuery{
		UserID:    req.GetUserId(),
		PageSize:  int(req.GetPageSize()),
		PageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	resp := &loyaltyv1.ListTransactionsResponse{
		Transactions:  make([]*loyaltyv1.Transaction, len(page.Transactions)),
		NextPageToken: page.NextPageToken,
	}
	for i, t := range page.Transactions {
		resp.Transactions[i] = &loyaltyv1.Transaction{
			Id:        t.ID,
			Amount:    t.Amount,
			Kind:      kind(t.Kind),
			Reason:    t.Reason,
			CreatedAt: timestamppb.New(t.CreatedAt),
		}
	}
	return resp, nil
}

func (s *LoyaltyServer) Deposit(ctx context.Context, req *loyaltyv1.DepositRequest) (*loyaltyv1.DepositResponse, error) {
	balance, err := s.svc.Deposit(ctx, bearer.Token(ctx), ledger.Change{
		UserID: req.GetUserId(), Amount: req.GetAmount(), Reason: req.GetReason(), IdempotencyKey: req.GetIdempotencyKey(),
	})
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	return &loyaltyv1.DepositResponse{Balance: balance}, nil
}

func (s *LoyaltyServer) Withdraw(ctx context.Context, req *loyaltyv1.WithdrawRequest) (*loyaltyv1.WithdrawResponse, error) {
	balance, err := s.svc.Withdraw(ctx, bearer.Token(ctx), ledger.Change{
		UserID: req.GetUserId(), Amount: req.GetAmount(), Reason: req.GetReason(), IdempotencyKey: req.GetIdempotencyKey(),
	})
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	return &loyaltyv1.WithdrawResponse{Balance: balance}, nil
}

func kind(k ledger.Kind) loyaltyv1.TransactionKind {
	switch k {
	case ledger.KindDeposit:
		return loyaltyv1.TransactionKind_TRANSACTION_KIND_DEPOSIT
	case ledger.KindWithdrawal:
		return loyaltyv1.TransactionKind_TRANSACTION_KIND_WITHDRAWAL
	case ledger.KindWelcomeBonus:
		return loyaltyv1.TransactionKind_TRANSACTION_KIND_WELCOME_BONUS
	default:
		return loyaltyv1.TransactionKind_TRANSACTION_KIND_UNSPECIFIED
	}
}

package server

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/sluice-sql/sluice/broker"
)

func (s *Server) listJobs(w http.ResponseWriter, _ *http.Request) {
	infos := s.e.Jobs()
	resp := JobsResponse{Jobs: make([]Job, len(infos))}
	for i, in := range infos {
		resp.Jobs[i] = jobOf(in)
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) {
	in, err := s.e.JobInfo(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, jobOf(in))
}

// stopJob stops a job and answers once it has ended; ?savepoint=true
// takes a savepoint first, and a job that cannot take one is left
// running (409).
func (s *Server) stopJob(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	savepoint, err := boolParam(r, "savepoint")
	if err != nil {
		writeError(w, http.StatusBadRequest, Error{Message: err.Error()})
		return
	}
	path, err := s.e.StopJob(r.Context(), id, savepoint)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	resp := StopResponse{ID: id, Savepoint: path}
	if in, err := s.e.JobInfo(id); err == nil {
		resp.Status = in.Status
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) savepoint(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	path, err := s.e.Savepoint(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, SavepointResponse{ID: id, Savepoint: path})
}

// topics lists the broker's topics, without the internal ones (the
// catalog's, the groups') unless ?internal=true.
func (s *Server) topics(w http.ResponseWriter, r *http.Request) {
	internal, err := boolParam(r, "internal")
	if err != nil {
		writeError(w, http.StatusBadRequest, Error{Message: err.Error()})
		return
	}
	resp := TopicsResponse{Topics: []Topic{}}
	if s.b != nil {
		for _, t := range s.b.Topics() {
			if broker.IsInternal(t.Name) && !internal {
				continue
			}
			resp.Topics = append(resp.Topics, topicOf(t))
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

// boolParam reads query parameter name: absent is false.
func boolParam(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("query parameter %s=%q: want true or false", name, v)
	}
	return b, nil
}
